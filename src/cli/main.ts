/** The `zona` command line. Each command lives in its own module; this file only dispatches. */
import { runAccessTests } from './access-test.ts'
import { showCatalog, validateCatalogs } from './catalog.ts'

const HELP = `zona – delegated access for an operator's business customers

Usage:
  zona test FILE...               run access test files (exit 0 pass, 1 a step failed, 2 malformed file)
  zona catalog validate FILE...   check role catalogs; every error with file, line and field
  zona catalog show [ID|FILE]     list the shipped presets, or one catalog's roles
  zona serve                      start the server (configuration from the environment, below)
  zona migrate                    bring the database schema up to date
  zona demo                       start the portal with an embedded database and demo data
  zona help                       this text
`

const io = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'test':
      return runAccessTests(rest, io)
    case 'catalog': {
      const [sub, ...args] = rest
      if (sub === 'validate') return validateCatalogs(args, io)
      if (sub === 'show') return showCatalog(args[0], io)
      io.err('usage: zona catalog validate FILE... | zona catalog show [ID|FILE]')
      return 2
    }
    case 'serve': {
      const { runServe } = await import('./serve.ts')
      return runServe(io)
    }
    case 'migrate': {
      const { runMigrate } = await import('./serve.ts')
      return runMigrate(io)
    }
    case 'demo': {
      const { runDemo } = await import('./demo.ts')
      return runDemo(io)
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const { ENV_HELP } = await import('../config.ts')
      io.out(`${HELP}\n${ENV_HELP}`)
      return 0
    }
    default:
      io.err(`unknown command ${command}\n\n${HELP}`)
      return 2
  }
}

process.exitCode = await main(process.argv.slice(2))
