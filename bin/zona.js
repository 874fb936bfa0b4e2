#!/usr/bin/env node
// The `zona` command. TypeScript sources run through tsx so that a fresh `npm ci` needs no build step.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
