// Entry point of the kubectl plugin (bin/kubectl-integration.js runs or imports it).
import { processIo, runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2), processIo());
