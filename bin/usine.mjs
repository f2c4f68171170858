#!/usr/bin/env node
// The `usine` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../client/cli.ts');
