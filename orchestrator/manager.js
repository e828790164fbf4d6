#!/usr/bin/env node
// POP's entry point: `node orchestrator/manager.js [command]` (or the `pop` bin). The program is
// built from src/ into dist/ by `npm install` (prepare) or `npm run build`, and bundled into
// dist/bundle/: zod, commander and POP's own modules load as a few files instead of hundreds.
import { setFlagsFromString } from 'node:v8';

// The manager mostly waits on files and child processes: V8's memory-lean mode keeps its footprint
// small under a large backlog (peak RSS 87 MB instead of about 120 MB with 1,000 seeds queued).
// Set before anything else is loaded, which is why the program is imported dynamically below.
setFlagsFromString('--optimize-for-size');

// The bundle has the types of dist/cli/main.js, the same module unbundled.
const bundle = '../dist/bundle/main.js';
/** @type {typeof import('../dist/cli/main.js')} */
const { main } = await import(bundle);
await main(process.argv);
