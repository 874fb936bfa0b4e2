/**
 * Demo customers, one per preset, in the portal's own language: named accounts, people in every
 * role. Services, invoices and statements are generated around them (generate.ts).
 */

export interface DemoAccount {
  id: string
  name: string
  accounts?: DemoAccount[]
  /** Services of these types are generated under the account. */
  services: { type: string; count: number }[]
}

export interface DemoPerson {
  login: string
  name: string
  email: string
  role: string
  /** An account id, 'customer', or 'service:<account id>' for the first service of that account. */
  scope: string
  options?: string[]
}

export interface DemoCustomer {
  id: string
  name: string
  currency: string
  tariffs: Record<string, string[]>
  addOns: Record<string, string[]>
  accounts: DemoAccount[]
  people: DemoPerson[]
  phonePrefix: string
}

const mobile = (count: number) => ({ type: 'mobile', count })

export const DEMO: Record<string, DemoCustomer> = {
  'o2-cz': {
    id: 'stavby-novak',
    name: 'Stavby Novák s.r.o.',
    currency: 'CZK',
    phonePrefix: '+420 6',
    tariffs: {
      mobile: ['O2 Business Neon S', 'O2 Business Neon M', 'O2 Business Neon L'],
      fixed: ['O2 Pevná linka Business'],
    },
    addOns: {
      mobile: ['Roaming Evropa', 'Datový balíček 10 GB', 'O2 Chytré hodinky', 'Pojištění telefonu'],
      fixed: ['Hlasová schránka'],
    },
    accounts: [
      {
        id: 'novak-centrala',
        name: 'Centrála Praha',
        services: [mobile(60), { type: 'fixed', count: 4 }],
        accounts: [
          {
            id: 'novak-brno',
            name: 'Pobočka Brno',
            services: [mobile(70)],
            accounts: [{ id: 'novak-brno-servis', name: 'Servis Brno-jih', services: [mobile(40)] }],
          },
          { id: 'novak-ostrava', name: 'Pobočka Ostrava', services: [mobile(80)] },
        ],
      },
      { id: 'novak-stavby', name: 'Stavební čety', services: [mobile(50)] },
    ],
    people: [
      {
        login: 'jana',
        name: 'Jana Nováková',
        email: 'jana.novakova@stavby-novak.cz',
        role: 'primary-admin',
        scope: 'customer',
      },
      {
        login: 'petr',
        name: 'Petr Dvořák',
        email: 'petr.dvorak@stavby-novak.cz',
        role: 'customer-admin',
        scope: 'customer',
      },
      {
        login: 'eva',
        name: 'Eva Svobodová',
        email: 'eva.svobodova@stavby-novak.cz',
        role: 'customer-viewer',
        scope: 'customer',
      },
      {
        login: 'marie',
        name: 'Marie Černá',
        email: 'ucetni@stavby-novak.cz',
        role: 'customer-accountant',
        scope: 'customer',
        options: ['statements'],
      },
      {
        login: 'tomas',
        name: 'Tomáš Procházka',
        email: 'tomas.prochazka@stavby-novak.cz',
        role: 'account-admin',
        scope: 'novak-brno',
        options: ['statements'],
      },
      {
        login: 'lucie',
        name: 'Lucie Veselá',
        email: 'lucie.vesela@stavby-novak.cz',
        role: 'account-admin-no-billing',
        scope: 'novak-ostrava',
      },
      {
        login: 'karel',
        name: 'Karel Horák',
        email: 'karel.horak@stavby-novak.cz',
        role: 'account-accountant',
        scope: 'novak-brno',
      },
      {
        login: 'zuzana',
        name: 'Zuzana Marková',
        email: 'zuzana.markova@stavby-novak.cz',
        role: 'account-viewer',
        scope: 'novak-stavby',
      },
      {
        login: 'martin',
        name: 'Martin Kučera',
        email: 'martin.kucera@stavby-novak.cz',
        role: 'service-admin',
        scope: 'service:novak-centrala',
      },
      {
        login: 'jiri',
        name: 'Jiří Pokorný',
        email: 'jiri.pokorny@stavby-novak.cz',
        role: 'service-user',
        scope: 'service:novak-brno-servis',
      },
      {
        login: 'hana',
        name: 'Hana Králová',
        email: 'hana.kralova@stavby-novak.cz',
        role: 'service-viewer',
        scope: 'service:novak-ostrava',
      },
      {
        login: 'ondrej',
        name: 'Ondřej Beneš',
        email: 'ondrej.benes@stavby-novak.cz',
        role: 'smartwatch',
        scope: 'service:novak-stavby',
      },
    ],
  },
  'nos-pt': {
    id: 'almeida-construcoes',
    name: 'Construções Almeida, Lda.',
    currency: 'EUR',
    phonePrefix: '+351 91',
    tariffs: {
      mobile: ['NOS Empresas Móvel 5 GB', 'NOS Empresas Móvel Ilimitado'],
      switchboard: ['Central Inteligente Empresas'],
    },
    addOns: {
      mobile: ['Roaming Europa', 'Internet Móvel 20 GB'],
      switchboard: ['Atendimento automático', 'Gravação de chamadas'],
    },
    accounts: [
      {
        id: 'almeida-lisboa',
        name: 'Sede Lisboa',
        services: [mobile(90), { type: 'switchboard', count: 2 }],
        accounts: [{ id: 'almeida-obras', name: 'Obras Lisboa', services: [mobile(60)] }],
      },
      { id: 'almeida-porto', name: 'Filial Porto', services: [mobile(100)] },
    ],
    people: [
      {
        login: 'joao',
        name: 'João Almeida',
        email: 'joao.almeida@almeida.pt',
        role: 'administrator',
        scope: 'customer',
      },
      {
        login: 'ana',
        name: 'Ana Ferreira',
        email: 'ana.ferreira@almeida.pt',
        role: 'delegated',
        scope: 'customer',
      },
      {
        login: 'rita',
        name: 'Rita Santos',
        email: 'faturacao@almeida.pt',
        role: 'billing',
        scope: 'customer',
      },
      {
        login: 'miguel',
        name: 'Miguel Costa',
        email: 'miguel.costa@almeida.pt',
        role: 'technical',
        scope: 'customer',
      },
      {
        login: 'ines',
        name: 'Inês Rodrigues',
        email: 'ines.rodrigues@almeida.pt',
        role: 'user',
        scope: 'service:almeida-porto',
      },
    ],
  },
  ovh: {
    id: 'hosting-praha',
    name: 'Hosting Praha s.r.o.',
    currency: 'EUR',
    phonePrefix: '',
    tariffs: {
      vps: ['VPS Comfort', 'VPS Elite'],
      dedicated: ['Advance-2', 'Scale-a1'],
      domain: ['.cz', '.eu'],
    },
    addOns: {
      vps: ['Automated Backup', 'Snapshot'],
      dedicated: ['Backup Storage 500 GB'],
      domain: ['DNSSEC'],
    },
    accounts: [
      {
        id: 'hp-produkce',
        name: 'Produkce',
        services: [
          { type: 'vps', count: 60 },
          { type: 'dedicated', count: 20 },
        ],
        accounts: [{ id: 'hp-klienti', name: 'Klientské projekty', services: [{ type: 'vps', count: 80 }] }],
      },
      { id: 'hp-domeny', name: 'Domény', services: [{ type: 'domain', count: 120 }] },
    ],
    people: [
      {
        login: 'owner',
        name: 'Pavel Šimek',
        email: 'pavel.simek@hosting-praha.cz',
        role: 'owner',
        scope: 'customer',
      },
      {
        login: 'admin',
        name: 'Klára Němcová',
        email: 'klara.nemcova@hosting-praha.cz',
        role: 'admin-contact',
        scope: 'service:hp-produkce',
      },
      {
        login: 'tech',
        name: 'David Říha',
        email: 'david.riha@hosting-praha.cz',
        role: 'tech-contact',
        scope: 'service:hp-produkce',
      },
      {
        login: 'billing',
        name: 'Alena Kadlecová',
        email: 'fakturace@hosting-praha.cz',
        role: 'billing-contact',
        scope: 'service:hp-produkce',
      },
    ],
  },
  'sk-isp': {
    id: 'tatra-logistika',
    name: 'Tatra Logistika s.r.o.',
    currency: 'EUR',
    phonePrefix: '+421 2',
    tariffs: {
      voip: ['VoIP Biznis 100', 'VoIP Biznis Neobmedzene'],
      housing: ['Serverhousing 1U', 'Serverhousing 4U'],
      internet: ['Optika 500/100'],
    },
    addOns: {
      voip: ['Nahrávanie hovorov'],
      housing: ['Verejná IPv4 adresa', 'Monitoring 24/7'],
      internet: ['Pevná IP adresa'],
    },
    accounts: [
      {
        id: 'tatra-bratislava',
        name: 'Centrála Bratislava',
        services: [
          { type: 'voip', count: 120 },
          { type: 'housing', count: 6 },
          { type: 'internet', count: 4 },
        ],
      },
      {
        id: 'tatra-kosice',
        name: 'Sklad Košice',
        services: [
          { type: 'voip', count: 80 },
          { type: 'internet', count: 2 },
        ],
      },
    ],
    people: [
      {
        login: 'milan',
        name: 'Milan Kováč',
        email: 'milan.kovac@tatra-logistika.sk',
        role: 'primary',
        scope: 'customer',
      },
      {
        login: 'lenka',
        name: 'Lenka Horváthová',
        email: 'uctovnictvo@tatra-logistika.sk',
        role: 'account',
        scope: 'customer',
        options: ['invoices', 'call-records'],
      },
      {
        login: 'peter',
        name: 'Peter Baláž',
        email: 'peter.balaz@tatra-logistika.sk',
        role: 'account',
        scope: 'customer',
        options: ['call-records'],
      },
      {
        login: 'jozef',
        name: 'Jozef Tóth',
        email: 'jozef.toth@tatra-logistika.sk',
        role: 'account',
        scope: 'customer',
      },
    ],
  },
  'tim-business': {
    id: 'rossi-costruzioni',
    name: 'Rossi Costruzioni S.r.l.',
    currency: 'EUR',
    phonePrefix: '+39 33',
    tariffs: {
      mobile: ['TIM Business Unlimited', 'TIM Business Start'],
      voip: ['TIM Comunicazione Integrata'],
    },
    addOns: { mobile: ['Roaming Mondo', 'Giga Extra 50 GB', 'TIM Protect'], voip: ['Segreteria evoluta'] },
    accounts: [
      {
        id: 'rossi-milano',
        name: 'Sede Milano',
        services: [mobile(100), { type: 'voip', count: 3 }],
        accounts: [{ id: 'rossi-cantieri', name: 'Cantieri Lombardia', services: [mobile(80)] }],
      },
      { id: 'rossi-roma', name: 'Filiale Roma', services: [mobile(90)] },
    ],
    people: [
      {
        login: 'giovanni',
        name: 'Giovanni Rossi',
        email: 'giovanni.rossi@rossicostruzioni.it',
        role: 'legal-rep',
        scope: 'customer',
      },
      {
        login: 'chiara',
        name: 'Chiara Bianchi',
        email: 'chiara.bianchi@rossicostruzioni.it',
        role: 'admin-full',
        scope: 'customer',
      },
      {
        login: 'luca',
        name: 'Luca Romano',
        email: 'luca.romano@rossicostruzioni.it',
        role: 'admin-light',
        scope: 'customer',
      },
      {
        login: 'sara',
        name: 'Sara Colombo',
        email: 'sara.colombo@rossicostruzioni.it',
        role: 'user',
        scope: 'service:rossi-roma',
      },
      {
        login: 'marco',
        name: 'Marco Ricci',
        email: 'marco.ricci@rossicostruzioni.it',
        role: 'device-user',
        scope: 'service:rossi-cantieri',
      },
    ],
  },
}

/** Everyone in the demo signs in with this password (printed at start; the demo is not for production). */
export const DEMO_PASSWORD = 'zona-demo-2026'
