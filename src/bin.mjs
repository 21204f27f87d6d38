#!/usr/bin/env node
// The `caliper-gateway` command. The sources are TypeScript run through tsx's loader,
// so there is no build step between `npm ci` and `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
