// Hearth's service worker: it shows Web Push notifications and opens their page on a tap.
// It caches nothing: pages always come from the server.

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = { title: event.data ? event.data.text() : '' };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || 'Hearth', {
      body: data.body || '',
      tag: data.tag || undefined,
      icon: '/apple-touch-icon.png',
      data: { url: data.url || '/notifications' },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  // Only pages of this site are opened.
  const target = new URL(event.notification.data?.url || '/notifications', self.location.origin);
  const url = target.origin === self.location.origin ? target.href : '/notifications';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const win of windows) {
        if (new URL(win.url).origin === self.location.origin && 'focus' in win) {
          await win.navigate(url).catch(() => {});
          return win.focus();
        }
      }
      return self.clients.openWindow(url);
    })(),
  );
});
