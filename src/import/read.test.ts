import { describe, expect, it } from 'vitest'
import { CustomerTree } from '../domain/tree.ts'
import { csvRow, parseCsv } from './csv.ts'
import { readCsvImport, readJsonImport } from './read.ts'
import { planImport } from './validate.ts'

describe('CSV', () => {
  it('reads quotes, doubled quotes, CRLF, line breaks inside quotes, with the line each record starts on', () => {
    const { records, problems } = parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"two\nlines",z\nlast,\n')
    expect(problems).toEqual([])
    expect(records).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x, y', 'say "hi"'] },
      { line: 4, cells: ['two\nlines', 'z'] },
      { line: 6, cells: ['last', ''] },
    ])
  })

  it('reports a quote left open', () => {
    expect(parseCsv('a\n"open\n').problems).toEqual([
      { line: 2, detail: expect.stringContaining('not closed') },
    ])
  })

  it('writes what it reads', () => {
    const values = ['plain', 'with, comma', 'with "quote"', 'two\nlines', ' padded', '']
    const { records } = parseCsv(csvRow(values))
    expect(records[0]?.cells).toEqual(values)
    expect(csvRow([1, null, undefined])).toBe('1,,\r\n')
  })
})

describe('reading an import', () => {
  it('reads the nested access-test form with parents from the nesting', () => {
    const { nodes, problems } = readJsonImport(
      {
        customer: 'acme',
        accounts: [{ id: 'A', services: ['S1', { id: 'S2', type: 'voip' }], accounts: [{ id: 'B' }] }],
        services: ['S0'],
      },
      'acme',
    )
    expect(problems).toEqual([])
    expect(nodes.map((n) => [n.id, n.kind, n.parent ?? null, n.serviceType])).toEqual([
      ['A', 'account', null, null],
      ['B', 'account', 'A', null],
      ['S1', 'service', 'A', null],
      ['S2', 'service', 'A', 'voip'],
      ['S0', 'service', null, null],
    ])
    expect(nodes.find((n) => n.id === 'S1')).toMatchObject({ name: 'S1', status: 'active' })
  })

  it('names every bad field by its JSON path', () => {
    const { problems } = readJsonImport(
      {
        customer: 'other',
        extra: 1,
        accounts: [{ id: 'A', status: 'active', colour: 'red' }],
        services: [
          { id: 'has space' },
          { id: 'S2', status: 'lost', contact_email: 'nope', add_ons: [1] },
          42,
        ],
        nodes: [{ id: 'N', kind: 'device' }],
      },
      'acme',
    )
    expect(problems.map((p) => p.field)).toEqual([
      'body.extra',
      'body.customer',
      'body.accounts[0].colour',
      'body.accounts[0].status',
      'body.services[0].id',
      'body.services[1].status',
      'body.services[1].contact_email',
      'body.services[1].add_ons',
      'body.services[2]',
      'body.nodes[0].kind',
    ])
  })

  it('reads CSV by header name, in any column order, and names lines', () => {
    const { nodes, problems } = readCsvImport(
      'id,kind,name,parent,add_ons\nA,account,Main,,\nS,service,Line,A,roaming; data \nX,gadget,?,A,\nY,service,,A,\n',
    )
    expect(problems).toEqual([
      { field: 'csv line 4: kind', detail: 'unknown kind gadget: use account or service', row: 4 },
    ])
    expect(nodes.map((n) => n.id)).toEqual(['A', 'S', 'Y'])
    expect(nodes[1]).toMatchObject({ parent: 'A', addOns: ['roaming', 'data'] })
    expect(nodes[2]?.name).toBe('Y')
  })

  it('refuses a header without kind or id, unknown columns and short rows', () => {
    expect(readCsvImport('name,parent\nx,y\n').problems.map((p) => p.field)).toEqual([
      'csv line 1: kind',
      'csv line 1: id',
    ])
    expect(readCsvImport('kind,id,colour\n').problems[0]?.field).toBe('csv line 1: colour')
    expect(readCsvImport('kind,id,name\naccount,A\n').problems).toEqual([
      { field: 'csv line 2', detail: 'has 2 cells where the header has 3', row: 2 },
    ])
    expect(readCsvImport('').problems[0]?.field).toBe('csv line 1')
  })
})

describe('planning an import', () => {
  const tree = () => {
    const t = new CustomerTree()
    t.addCustomer('acme')
    t.addAccount('acc', 'acme')
    t.addService('svc', 'acc')
    t.addCustomer('other')
    t.addAccount('other-acc', 'other')
    return t
  }

  it('orders parents first, on top of the existing tree', () => {
    const { nodes } = readCsvImport(
      'kind,id,parent\nservice,s2,a2\naccount,a2,a1\naccount,a1,acc\nservice,s1,\n',
    )
    const plan = planImport('acme', nodes, tree())
    expect(plan.problems).toEqual([])
    expect(plan.ordered.map((n) => `${n.id}<${n.parentId}`)).toEqual(['a1<acc', 's1<acme', 'a2<a1', 's2<a2'])
    expect([plan.accounts, plan.services]).toEqual([2, 2])
  })

  it('finds duplicates, unknown parents, other customers, services as parents and cycles', () => {
    const { nodes } = readCsvImport(
      [
        'kind,id,parent',
        'account,a1,', // 2 ok
        'account,a1,', // 3 duplicate in the file
        'account,acc,', // 4 already in the tree
        'service,s1,nowhere', // 5 unknown parent
        'service,s2,other-acc', // 6 another customer's node: as unknown
        'service,s3,svc', // 7 under an existing service
        'service,s4,a1', // 8 ok
        'account,a9,s4', // 9 under a service of the file
        'account,c1,c2', // 10 cycle
        'account,c2,c1', // 11 cycle
        'account,c3,c3', // 12 its own parent
      ].join('\n'),
    )
    const plan = planImport('acme', nodes, tree())
    expect(plan.problems.map((p) => p.field)).toEqual([
      'csv line 3: id',
      'csv line 4: id',
      'csv line 5: parent',
      'csv line 6: parent',
      'csv line 7: parent',
      'csv line 9: parent',
      'csv line 10: parent',
      'csv line 11: parent',
      'csv line 12: parent',
    ])
    expect(plan.problems[3]?.detail).toBe('unknown parent other-acc')
    expect(plan.problems[6]?.detail).toContain('cycle')
  })
})

describe('CSV export cells', () => {
  it('neutralises text a spreadsheet would run as a formula, not numbers', async () => {
    const { csvCell } = await import('./csv.ts')
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`)
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell(-5)).toBe('-5')
    expect(csvCell('plain, text')).toBe('"plain, text"')
  })
})
