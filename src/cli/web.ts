// `electrolite web [--port 8080] [--host 127.0.0.1]`: serve the web page (dist/web/, made by
// the build from src/web/) over http on localhost — WebGPU needs a secure context, which
// localhost is. The folder is a plain static site: any static host serves it as well.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, numberOption, UsageError } from './args.js';

/** dist/web beside the built CLI (dist/cli.js). */
export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.css': 'text/css',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
};

export async function webCommand(argv: string[]): Promise<number> {
  const { values } = parse('web', argv, { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, dir: { type: 'string' } });
  const port = numberOption('web', 'port', values.port, { int: true, min: 0, max: 65535 });
  const dir = resolve(values.dir ?? WEB_DIR);
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`web: ${dir} has no index.html: build the site first (npm run build, or npm run web)`);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    // Nothing outside the site's folder.
    if (!(file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(readFileSync(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e) => fail(new Error(`web: cannot listen on ${values.host}:${port}: ${e.message}`)));
    server.listen(port, values.host, ok);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`serving ${dir} on http://${values.host === '0.0.0.0' ? 'localhost' : values.host}:${bound}/ (Ctrl-C stops)\n`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
