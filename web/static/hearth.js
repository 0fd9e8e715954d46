// Progressive enhancement only: every page works without this file.

// htmx requests carry the CSRF token that plain forms send as a hidden field.
document.addEventListener('htmx:configRequest', (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers['X-CSRF-Token'] = meta.content;
});

// Flash messages fade after a while; they stay in the page for screen readers until then.
for (const flash of document.querySelectorAll('.flash')) {
  setTimeout(() => flash.classList.add('flash-gone'), 6000);
}
