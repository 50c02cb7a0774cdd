import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** Where `npm run web:build` puts the example web app. */
export const WEB_APP_DIST = path.resolve(__dirname, '..', '..', 'examples', 'web', 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Serves the built web app at `/`: its files are read once at start-up and
 * answered from memory (a handful of files, fixed until the next build).
 * Hashed assets are cached for good; index.html is revalidated. /graphql is untouched.
 */
export function registerWebApp(http: FastifyInstance, logger: Logger, dist = WEB_APP_DIST): void {
  if (!existsSync(path.join(dist, 'index.html'))) {
    logger.warn({ dist }, 'web app not built: run `npm run web:build` (npm start does it in development)');
    return;
  }
  const files = new Map<string, Buffer>();
  for (const name of listFiles(dist)) files.set(`/${path.relative(dist, name).split(path.sep).join('/')}`, readFileSync(name));
  const index = files.get('/index.html')!;
  http.get('/', async (_request, reply) => reply.type(CONTENT_TYPES['.html']).header('cache-control', 'no-cache').send(index));
  http.get('/assets/*', async (request, reply) => {
    const file = files.get(request.url.split('?')[0]);
    if (!file) return reply.status(404).type('text/plain').send('Not found');
    const type = CONTENT_TYPES[path.extname(request.url.split('?')[0])] ?? 'application/octet-stream';
    return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(file);
  });
  logger.info({ files: files.size }, 'serving the web app at /');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}
