// The runner's entry point as a plain program (bundled into child.bundle.js by `npm run build`).
import { startRunner } from './child.js';

startRunner();
