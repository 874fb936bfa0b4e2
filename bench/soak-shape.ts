/** The soak customer's shape, shared by the load (soak.ts) and the server it forks (soak-server.ts). */
export const SOAK = { customer: 'acme', accounts: 20, servicesPerAccount: 20, people: 400 } as const

export const accountId = (a: number) => `acc-${a}`
export const serviceId = (a: number, s: number) => `svc-${a}-${s}`
export const personIdOf = (i: number) => `person-${i}`
