// Runs the example apparatus: PORT (default 3000), BASE_PATH (default none), PASSWORD_SEED
// (required: mount it from a Secret). Stops gracefully on SIGTERM (Pod deletion) and SIGINT.
import { createExampleApparatus } from './apparatus.ts';

const passwordSeed = process.env.PASSWORD_SEED;
if (!passwordSeed) {
  process.stderr.write('PASSWORD_SEED is required (mount it from a Secret)\n');
  process.exit(1);
}
const app = createExampleApparatus({ passwordSeed, basePath: process.env.BASE_PATH ?? '' });
const server = await app.listen(Number(process.env.PORT ?? 3000));
process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.port })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
