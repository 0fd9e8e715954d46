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

// Passkeys (WebAuthn). The server sends options in WebAuthn's JSON form (binary fields as
// base64url); the browser API wants ArrayBuffers, and its answer goes back as JSON.
const base64url = {
  decode(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  },
  encode(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
};

function creationOptions(options) {
  const publicKey = structuredClone(options.publicKey);
  publicKey.challenge = base64url.decode(publicKey.challenge);
  publicKey.user.id = base64url.decode(publicKey.user.id);
  for (const c of publicKey.excludeCredentials ?? []) c.id = base64url.decode(c.id);
  return { publicKey };
}

function requestOptions(options) {
  const publicKey = structuredClone(options.publicKey);
  publicKey.challenge = base64url.decode(publicKey.challenge);
  for (const c of publicKey.allowCredentials ?? []) c.id = base64url.decode(c.id);
  return { publicKey };
}

function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: base64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64url.encode(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
  } else {
    response.authenticatorData = base64url.encode(r.authenticatorData);
    response.signature = base64url.encode(r.signature);
    if (r.userHandle) response.userHandle = base64url.encode(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: base64url.encode(credential.rawId),
    type: credential.type,
    response,
    extensions: credential.getClientExtensionResults(),
  };
}

async function postJSON(url, body) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  const resp = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify(body ?? {}),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const fields = (data.fields ?? []).map((f) => f.message).join(' ');
    throw new Error(fields || data.error || `The server answered ${resp.status}.`);
  }
  return data;
}

function explain(error) {
  if (error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
  if (error.name === 'InvalidStateError') return 'This device already has a passkey for your account.';
  if (error.name === 'SecurityError') return `Passkeys work only at this site's own address (${location.origin} is not it).`;
  return error.message;
}

function showError(root, error) {
  const box = root.querySelector('[data-passkey-error]');
  box.textContent = explain(error);
  box.hidden = false;
}

const nextParam = () => document.querySelector('input[name="next"]')?.value ?? '';

// Sign in without a password, or as the second step after one: ask for options, let the
// browser find a passkey, and send its answer back.
async function signInWithPasskey(root, prefix) {
  const start = await postJSON(`${prefix}/options`);
  const credential = await navigator.credentials.get(requestOptions(start.options));
  const done = await postJSON(prefix, {
    ceremony: start.ceremony,
    credential: credentialJSON(credential),
    next: nextParam(),
  });
  location.assign(done.redirect);
}

async function registerPasskey(form) {
  const start = await postJSON('/api/v1/me/passkeys/options', {
    name: form.elements.name.value,
    currentPassword: form.elements.current_password.value,
  });
  const credential = await navigator.credentials.create(creationOptions(start.data.options));
  await postJSON('/api/v1/me/passkeys', {
    ceremony: start.data.ceremony,
    credential: credentialJSON(credential),
  });
  location.assign('/account');
}

if (window.PublicKeyCredential) {
  for (const root of document.querySelectorAll('[data-passkey]')) {
    const kind = root.dataset.passkey;
    root.hidden = false;
    root.querySelector('[data-passkey-controls]')?.removeAttribute('disabled');
    if (kind === 'register') {
      root.addEventListener('submit', (event) => {
        event.preventDefault();
        registerPasskey(root).catch((e) => showError(root, e));
      });
    } else {
      const prefix = kind === 'sign-in' ? '/login/passkey' : '/login/code/passkey';
      root.querySelector('[data-passkey-start]').addEventListener('click', () => {
        signInWithPasskey(root, prefix).catch((e) => showError(root, e));
      });
    }
  }
}

// Uploads with a progress bar; a video gets a poster frame grabbed here in the browser.
// Without scripts the form posts normally.
async function posterFor(file) {
  if (!file.type.startsWith('video/')) return null;
  const url = URL.createObjectURL(file);
  try {
    const video = document.createElement('video');
    video.muted = true;
    video.src = url;
    // A video this browser cannot play gets no poster rather than a stuck upload.
    const within = (ms, promise) => Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), ms)),
    ]);
    await within(5000, new Promise((resolve, reject) => {
      video.onloadeddata = resolve;
      video.onerror = reject;
    }));
    video.currentTime = Math.min(1, video.duration / 2 || 0);
    await within(5000, new Promise((resolve) => { video.onseeked = resolve; }));
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    return await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  } catch {
    return null; // The server accepts a video without a poster.
  } finally {
    URL.revokeObjectURL(url);
  }
}

for (const form of document.querySelectorAll('form[data-upload]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const progress = form.querySelector('[data-upload-progress]');
    const error = form.querySelector('[data-upload-error]');
    error.hidden = true;
    const data = new FormData();
    data.append('file', file);
    const poster = await posterFor(file);
    if (poster) data.append('poster', poster, 'poster.jpg');
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/media/uploads');
    xhr.setRequestHeader('X-CSRF-Token', document.querySelector('meta[name="csrf-token"]').content);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
    };
    xhr.onload = () => {
      if (xhr.status === 201) return location.reload();
      let message = `The upload failed (${xhr.status}).`;
      try { message = JSON.parse(xhr.responseText).error ?? message; } catch { /* not JSON */ }
      error.textContent = message;
      error.hidden = false;
      progress.hidden = true;
    };
    xhr.onerror = () => {
      error.textContent = 'The connection broke during the upload; try again.';
      error.hidden = false;
    };
    progress.hidden = false;
    progress.value = 0;
    xhr.send(data);
  });
}

// The library shows uploads still processing; look again shortly so their state updates
// (for a few minutes at most: a job that keeps failing is retried much later).
if (location.pathname === '/media') {
  const looks = Number(sessionStorage.getItem('media-refreshes') ?? 0);
  if (document.querySelector('.media-grid [data-state="processing"]') && looks < 120) {
    sessionStorage.setItem('media-refreshes', String(looks + 1));
    setTimeout(() => location.reload(), 1500);
  } else {
    sessionStorage.removeItem('media-refreshes');
  }
}

// The profile form's town picker: htmx fills the suggestion list as the member types; a click
// on a suggestion takes it. Without scripts the typed name is matched on the server.
for (const picker of document.querySelectorAll('.place-picker')) {
  const input = picker.querySelector('[data-place-input]');
  const id = picker.querySelector('[data-place-id]');
  const list = picker.querySelector('.suggestions');
  const take = (placeId, label) => {
    id.value = placeId;
    input.value = label;
    list.replaceChildren();
    input.focus();
  };
  list.addEventListener('click', (event) => {
    const choice = event.target.closest('[data-place-id]');
    if (choice) take(choice.dataset.placeId, choice.dataset.placeLabel);
  });
  input.addEventListener('input', () => { id.value = ''; });
  const locate = picker.querySelector('[data-use-location]');
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener('click', () => {
      navigator.geolocation.getCurrentPosition(
        async (position) => {
          try {
            const found = await postJSON('/api/v1/places/nearest', {
              latitude: position.coords.latitude,
              longitude: position.coords.longitude,
            });
            take(found.data.id, found.data.label);
          } catch (e) {
            input.setCustomValidity(e.message);
            input.reportValidity();
          }
        },
        () => {
          input.setCustomValidity('Your browser did not share a position: type your town instead.');
          input.reportValidity();
          input.setCustomValidity('');
        },
        { enableHighAccuracy: false, maximumAge: 600000, timeout: 15000 },
      );
    });
  }
}

// A new profile starts in the browser's own time zone.
for (const zone of document.querySelectorAll('[data-time-zone]')) {
  if (!zone.value) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
}

// The deck: arrow keys and touch swipes press the Like and Pass buttons (the forms do the rest).
for (const deck of document.querySelectorAll('[data-deck]')) {
  const like = deck.querySelector('[data-like]');
  const pass = deck.querySelector('[data-pass]');
  document.addEventListener('keydown', (event) => {
    if (event.target.closest('input, textarea, select')) return;
    if (event.key === 'ArrowRight') like.click();
    if (event.key === 'ArrowLeft') pass.click();
  });
  let startX = null;
  deck.addEventListener('touchstart', (event) => { startX = event.touches[0].clientX; }, { passive: true });
  deck.addEventListener('touchend', (event) => {
    if (startX === null) return;
    const dx = event.changedTouches[0].clientX - startX;
    startX = null;
    if (dx > 80) like.click();
    if (dx < -80) pass.click();
  });
}

// Blurhash placeholders: a photo carries its blurhash (`data-blurhash`); until the photo has
// loaded, a 32×32 image decoded from it fills the photo's box, so a card shows its colours at
// once. The decoding follows the blurhash format: a base-83 header (components, maximum AC),
// the average colour, then the cosine components.
const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function decode83(text) {
  let value = 0;
  for (const c of text) {
    const digit = BASE83.indexOf(c);
    if (digit < 0) throw new Error('not a blurhash');
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (v) => {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};
const toSRGB = (v) => {
  const x = Math.max(0, Math.min(1, v));
  return Math.round((x <= 0.0031308 ? x * 12.92 : 1.055 * x ** (1 / 2.4) - 0.055) * 255);
};
const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;

function blurhashPixels(hash, width, height) {
  const sizeFlag = decode83(hash[0]);
  const nx = (sizeFlag % 9) + 1;
  const ny = Math.floor(sizeFlag / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('not a blurhash');
  const maxAC = (decode83(hash[1]) + 1) / 166;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const v = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    const q = [Math.floor(v / 361), Math.floor(v / 19) % 19, v % 19];
    colors.push(q.map((c) => signPow((c - 9) / 9, 2) * maxAC));
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const rgb = [0, 0, 0];
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const c = colors[i + j * nx];
          for (let k = 0; k < 3; k++) rgb[k] += c[k] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels.set([toSRGB(rgb[0]), toSRGB(rgb[1]), toSRGB(rgb[2]), 255], at);
    }
  }
  return pixels;
}

function showBlurhash(img) {
  if (img.complete && img.naturalWidth > 0) return;
  try {
    const canvas = document.createElement('canvas');
    canvas.width = 32;
    canvas.height = 32;
    const pixels = blurhashPixels(img.dataset.blurhash, 32, 32);
    canvas.getContext('2d').putImageData(new ImageData(pixels, 32, 32), 0, 0);
    img.style.backgroundImage = `url(${canvas.toDataURL()})`;
    img.classList.add('blurhash');
    const clear = () => {
      img.style.backgroundImage = '';
      img.classList.remove('blurhash');
    };
    img.addEventListener('load', clear, { once: true });
  } catch {
    // A malformed hash leaves the box as it was.
  }
}

function showBlurhashes(root) {
  for (const img of root.querySelectorAll('img[data-blurhash]')) showBlurhash(img);
}
showBlurhashes(document);
document.addEventListener('htmx:afterSwap', (event) => showBlurhashes(event.target));

// Live updates: one WebSocket per tab, resuming from the last frame seen when it reconnects.
// In an open conversation new messages, "seen" and deletions appear in place and the other
// member's typing shows; elsewhere the Messages badge counts up and a toast says what
// happened. A system notification is shown only if the member asked for them with a click.
const live = { socket: null, lastId: null, retry: 1000, me: null, typingSent: 0 };

function toast(text, href) {
  let shelf = document.querySelector('.toasts');
  if (!shelf) {
    shelf = document.createElement('div');
    shelf.className = 'toasts';
    shelf.setAttribute('role', 'status');
    shelf.setAttribute('aria-live', 'polite');
    document.body.append(shelf);
  }
  const note = document.createElement('a');
  note.className = 'toast';
  note.href = href;
  note.textContent = text;
  shelf.append(note);
  setTimeout(() => note.remove(), 8000);
}

function bumpUnread(by, selector = '.places a[href="/messages"]') {
  const link = document.querySelector(selector);
  if (!link) return;
  let badge = link.querySelector('.badge');
  if (!badge) {
    badge = document.createElement('span');
    badge.className = 'badge';
    link.append(' ', badge);
  }
  const count = Math.max(0, (parseInt(badge.textContent, 10) || 0) + by);
  badge.textContent = String(count);
  badge.setAttribute('aria-label', `${count} unread`);
  badge.hidden = count === 0;
}

// The bell's count as the server has it (after notifications were read on some device).
async function refreshBell() {
  const resp = await fetch('/api/v1/notifications/unread', { credentials: 'same-origin' });
  if (!resp.ok) return;
  const { data } = await resp.json();
  const badge = document.querySelector('a.bell .badge');
  if (badge) bumpUnread(data.unread - (parseInt(badge.textContent, 10) || 0), 'a.bell');
  else if (data.unread > 0) bumpUnread(data.unread, 'a.bell');
}

function openConversation() {
  return document.querySelector('ol.messages[data-conversation]');
}

// The conversation as the server has it now (opening it also reads it).
async function refreshConversation() {
  const list = openConversation();
  if (!list) return;
  const resp = await fetch(location.pathname, { credentials: 'same-origin' });
  if (!resp.ok) return;
  const fresh = new DOMParser().parseFromString(await resp.text(), 'text/html');
  const messages = fresh.querySelector('ol.messages');
  if (messages) list.replaceChildren(...messages.childNodes);
  showBlurhashes(list);
  document.getElementById('end')?.scrollIntoView({ block: 'end' });
}

function notifySystem(title, href) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const note = new Notification(title);
  note.addEventListener('click', () => { window.focus(); location.href = href; });
}

// Presence dots: the matches online, from the hello frame and presence frames.
const online = new Set();
function showPresence() {
  for (const el of document.querySelectorAll('[data-member]')) {
    const on = online.has(el.dataset.member);
    el.classList.toggle('online', on);
    if (on) el.setAttribute('title', 'Online now');
    else el.removeAttribute('title');
  }
}

function onFrame(frame) {
  if (frame.id) live.lastId = frame.id;
  const data = frame.data ?? {};
  const here = openConversation();
  const inThisOne = here && here.dataset.conversation === data.conversationId;
  switch (frame.type) {
    case 'hello':
      online.clear();
      for (const id of data.online ?? []) online.add(id);
      showPresence();
      break;
    case 'presence':
      if (data.online) online.add(data.memberId);
      else online.delete(data.memberId);
      showPresence();
      break;
    case 'resync':
      refreshConversation();
      break;
    case 'message:new':
      if (inThisOne) {
        const typing = document.querySelector('[data-typing]');
        if (typing && data.fromId !== live.me) typing.hidden = true;
        refreshConversation();
      } else if (data.fromId !== live.me) {
        bumpUnread(1);
        toast('New message', `/messages/${data.conversationId}`);
        notifySystem('New message', `/messages/${data.conversationId}`);
      }
      break;
    case 'message:read':
    case 'message:edited':
    case 'message:deleted':
      if (inThisOne) refreshConversation();
      break;
    case 'typing':
      if (inThisOne) {
        const status = document.querySelector('[data-typing]');
        if (status) {
          status.hidden = false;
          clearTimeout(status.timer);
          status.timer = setTimeout(() => { status.hidden = true; }, 4000);
        }
      }
      break;
    case 'match:new':
      toast("It's a match!", '/matches');
      notifySystem("It's a match!", '/matches');
      break;
    case 'like:new':
      toast('Someone liked you', '/likes');
      break;
    case 'notification:new':
      bumpUnread(1, 'a.bell');
      break;
    case 'notification:read':
      refreshBell();
      break;
    default:
      break;
  }
}

function connectLive() {
  const meta = document.querySelector('meta[name="member-id"]');
  if (!meta || !('WebSocket' in window)) return;
  live.me = meta.content;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const resume = live.lastId ? `?lastEventId=${encodeURIComponent(live.lastId)}` : '';
  const socket = new WebSocket(`${scheme}//${location.host}/api/v1/stream${resume}`);
  live.socket = socket;
  socket.addEventListener('open', () => { live.retry = 1000; });
  socket.addEventListener('message', (event) => {
    try {
      onFrame(JSON.parse(event.data));
    } catch {
      // A frame this page does not understand is skipped.
    }
  });
  socket.addEventListener('close', () => {
    live.socket = null;
    setTimeout(connectLive, live.retry);
    live.retry = Math.min(live.retry * 2, 30000);
  });
}
connectLive();

// Typing in a conversation tells the other member (at most every three seconds).
document.querySelector('form.write textarea')?.addEventListener('input', () => {
  const list = openConversation();
  const now = Date.now();
  if (!list || !live.socket || live.socket.readyState !== WebSocket.OPEN || now - live.typingSent < 3000) return;
  live.typingSent = now;
  live.socket.send(JSON.stringify({ type: 'typing', conversationId: list.dataset.conversation }));
});

// System notifications are asked for on a click, never on page load.
for (const button of document.querySelectorAll('[data-notify]')) {
  if (!('Notification' in window)) {
    button.hidden = true;
    continue;
  }
  button.addEventListener('click', async () => {
    const answer = await Notification.requestPermission();
    button.textContent = answer === 'granted' ? 'Notifications are on for this device' : 'Notifications are off (your browser settings)';
  });
}

// Push notifications on this device: offered only where the browser can do them, asked for
// on a click, then the subscription is handed to the server.
const pushButton = document.querySelector('[data-push-subscribe]');
if (pushButton && 'serviceWorker' in navigator && 'PushManager' in window) {
  pushButton.hidden = false;
  pushButton.addEventListener('click', async () => {
    pushButton.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== 'granted') {
        throw new Error('Notifications are blocked in your browser settings.');
      }
      const registration = await navigator.serviceWorker.register('/sw.js');
      await navigator.serviceWorker.ready;
      const key = await fetch('/api/v1/push/key', { credentials: 'same-origin' }).then((r) => r.json());
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64url.decode(key.data.publicKey),
      });
      await postJSON('/api/v1/push/devices', subscription.toJSON());
      window.location.reload();
    } catch (e) {
      pushButton.disabled = false;
      pushButton.textContent = `Push notifications could not be turned on: ${e.message}`;
    }
  });
}
