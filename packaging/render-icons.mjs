// Renders the app icons in assets/icons/ from hearth.svg with Debian's Chromium:
//   node packaging/render-icons.mjs        (run from the repository root; needs the
//                                            browser-test packages: cd tests/e2e && npm ci)
// favicon.ico is then assembled from 16 and 32 px renders (see assets/icons/README.md).
import { chromium } from '../tests/e2e/node_modules/playwright-core/index.mjs';
import fs from 'fs';
const dir = new URL('../assets/icons/', import.meta.url).pathname;
const svg = fs.readFileSync(dir + 'hearth.svg', 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await browser.newPage();
for (const [name, size, pad] of [['icon-192.png', 192, 0], ['icon-512.png', 512, 0], ['maskable-512.png', 512, 0.1], ['apple-touch-icon.png', 180, 0.06], ['favicon-32.png', 32, 0], ['favicon-16.png', 16, 0]]) {
  await page.setViewportSize({ width: size, height: size });
  const inner = Math.round(size * (1 - 2 * pad));
  const bg = pad ? '#b4492b' : 'transparent';
  await page.setContent(`<html><body style="margin:0;background:${bg};display:flex;align-items:center;justify-content:center;width:${size}px;height:${size}px">${svg.replace('<svg ', `<svg width="${inner}" height="${inner}" `)}</body></html>`);
  await page.screenshot({ path: dir + name, omitBackground: !pad });
}
await browser.close();
