// Browser tests need Debian's Chromium; without it they fail at once with the fix, never skip.
import { existsSync } from 'node:fs';

if (!existsSync('/usr/bin/chromium')) {
  console.error('Chromium is missing (/usr/bin/chromium): install it with `apt-get install -y chromium`, then run `npm run test:e2e` again');
  process.exit(1);
}
