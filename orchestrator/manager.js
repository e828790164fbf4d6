#!/usr/bin/env node
// POP's entry point: `node orchestrator/manager.js [command]` (or the `pop` bin). The program is
// built from src/ into dist/ by `npm install` (prepare) or `npm run build`.
import { main } from '../dist/cli/main.js';

await main(process.argv);
