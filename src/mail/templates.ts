/**
 * Zona's mail, in Czech, Slovak, Portuguese, Italian and English (any other language gets
 * English). Each letter is written once as a list of blocks and rendered twice: as plain text
 * and as simple HTML in which every piece of data is escaped, so no template can forget to.
 *
 * @example
 * const mail = renderMail('password-reset', 'cs', { name: 'Jana', link, expiresAt })
 * await enqueueMail(trx, { to: person.email, ...mail, kind: 'password-reset' })
 */
import type { ContactKind } from '../store/schema.ts'
import { escapeHtml, safeHref } from './html.ts'

export const MAIL_LANGUAGES = ['cs', 'sk', 'pt', 'it', 'en'] as const
export type MailLanguage = (typeof MAIL_LANGUAGES)[number]

/** Settings every kind takes. */
export interface CommonMailData {
  /** The portal's name as the operator calls it ('Moje O2'); default per language. */
  portalName?: string
  /** The time zone dates are shown in; default per language (en: UTC). */
  timeZone?: string
}

export interface MailData {
  invitation: CommonMailData & {
    inviterName: string
    customerName: string
    roleNames: string[]
    link: string
    expiresAt: Date
  }
  'password-reset': CommonMailData & { name: string; link: string; expiresAt: Date }
  'contact-change-confirm': CommonMailData & {
    /** The recipient: the requester or the new contact. */
    name: string
    serviceName: string
    contactKind: ContactKind
    newContactName: string
    requesterName: string
    /** The recipient's one-time confirmation code, also pre-filled by the link. */
    token: string
    link: string
  }
  'contact-change-applied': CommonMailData & {
    serviceName: string
    contactKind: ContactKind
    oldContactName: string
    newContactName: string
  }
  'account-request-link': CommonMailData & { name: string; link: string; expiresAt: Date }
  'account-request-queued': CommonMailData & { contractNumber: string }
}

export type MailKind = keyof MailData
export const MAIL_KINDS: readonly MailKind[] = [
  'invitation',
  'password-reset',
  'contact-change-confirm',
  'contact-change-applied',
  'account-request-link',
  'account-request-queued',
]

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

type Block =
  | { p: string }
  | { list: string[] }
  | { button: string; href: string }
  | { codeLabel: string; code: string }
  | { note: string }

interface Letter {
  subject: string
  greeting: string
  blocks: Block[]
}

/** What a letter gets besides its data: the portal name and a date formatter. */
interface Ctx {
  portal: string
  date(value: Date): string
}

type Letters = { [K in MailKind]: (d: MailData[K], c: Ctx) => Letter }

interface LanguagePack {
  locale: string
  timeZone: string
  portal: string
  copyLink: string
  footer(portal: string): string
  letters: Letters
}

const en: LanguagePack = {
  locale: 'en-GB',
  timeZone: 'UTC',
  portal: 'Customer zone',
  copyLink: 'If the button does not work, copy this address into your browser:',
  footer: (portal) => `${portal} – this message was sent automatically, please do not reply.`,
  letters: {
    invitation: (d, c) => ({
      subject: `Invitation to ${c.portal}: ${d.customerName}`,
      greeting: 'Hello,',
      blocks: [
        { p: `${d.inviterName} invites you to ${c.portal} of ${d.customerName} with these roles:` },
        { list: d.roleNames },
        { button: 'Accept the invitation', href: d.link },
        {
          p: `The link works until ${c.date(d.expiresAt)}. If you already have a login, you accept with it; otherwise you choose a password.`,
        },
        {
          note: 'If you did not expect this invitation, ignore this e-mail: nothing changes until the link is used.',
        },
      ],
    }),
    'password-reset': (d, c) => ({
      subject: `Password reset for ${c.portal}`,
      greeting: `Hello ${d.name},`,
      blocks: [
        {
          p: `We received a request to reset the password of your ${c.portal} login. To choose a new password, open this link:`,
        },
        { button: 'Choose a new password', href: d.link },
        { p: `The link works once, until ${c.date(d.expiresAt)}.` },
        { note: 'If you did not ask for this, ignore this e-mail: your password stays as it is.' },
      ],
    }),
    'contact-change-confirm': (d) => {
      const kind = EN_KIND[d.contactKind]
      return {
        subject: `Confirm: new ${kind} contact for ${d.serviceName}`,
        greeting: `Hello ${d.name},`,
        blocks: [
          {
            p: `${d.requesterName} asked to make ${d.newContactName} the ${kind} contact of ${d.serviceName}.`,
          },
          { p: 'To approve or refuse the change, open this link; it fills in your confirmation code:' },
          { button: 'Approve or refuse', href: d.link },
          { codeLabel: 'Your confirmation code:', code: d.token },
          { p: 'This code is yours alone: do not pass it on.' },
          { p: 'The change applies only when both the requester and the new contact have approved it.' },
        ],
      }
    },
    'contact-change-applied': (d) => {
      const kind = EN_KIND[d.contactKind]
      return {
        subject: `New ${kind} contact for ${d.serviceName}`,
        greeting: 'Hello,',
        blocks: [
          {
            p: `${d.newContactName} is now the ${kind} contact of ${d.serviceName}, in place of ${d.oldContactName}.`,
          },
          { p: 'Both parties approved the change.' },
        ],
      }
    },
    'account-request-link': (d, c) => ({
      subject: `Set your password for ${c.portal}`,
      greeting: d.name ? `Hello ${d.name},` : 'Hello,',
      blocks: [
        {
          p: `Your request for a ${c.portal} account has been confirmed. To set your password, open this link:`,
        },
        { button: 'Set a password', href: d.link },
        { p: `The link works once, until ${c.date(d.expiresAt)}.` },
        { note: 'If you did not ask for an account, ignore this e-mail.' },
      ],
    }),
    'account-request-queued': (d, c) => ({
      subject: `Your account request for contract ${d.contractNumber}`,
      greeting: 'Hello,',
      blocks: [
        {
          p: `We have received your request for a ${c.portal} account for contract ${d.contractNumber}. Our staff will check it and contact you.`,
        },
        { note: 'If you did not ask for an account, ignore this e-mail.' },
      ],
    }),
  },
}

const EN_KIND: Record<ContactKind, string> = {
  admin: 'administrative',
  technical: 'technical',
  billing: 'billing',
}

// Czech and Slovak decline the adjective: "změna technického kontaktu" (genitive),
// "novým technickým kontaktem" (instrumental).
const CS_GEN: Record<ContactKind, string> = {
  admin: 'administrativního',
  technical: 'technického',
  billing: 'fakturačního',
}
const CS_INS: Record<ContactKind, string> = {
  admin: 'administrativním',
  technical: 'technickým',
  billing: 'fakturačním',
}

const cs: LanguagePack = {
  locale: 'cs-CZ',
  timeZone: 'Europe/Prague',
  portal: 'Zákaznická zóna',
  copyLink: 'Pokud tlačítko nefunguje, zkopírujte tuto adresu do prohlížeče:',
  footer: (portal) => `${portal} – tato zpráva byla odeslána automaticky, neodpovídejte na ni.`,
  letters: {
    invitation: (d, c) => ({
      subject: `Přístup do portálu ${c.portal}: ${d.customerName}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `${d.inviterName} vám dává přístup do portálu ${c.portal} pro zákazníka ${d.customerName} s těmito rolemi:`,
        },
        { list: d.roleNames },
        { button: 'Přijmout pozvánku', href: d.link },
        {
          p: `Odkaz platí do ${c.date(d.expiresAt)}. Máte-li už přihlašovací účet, pozvánku přijmete s ním; jinak si nastavíte heslo.`,
        },
        {
          note: 'Pokud jste pozvánku nečekali, tento e-mail ignorujte: dokud odkaz nepoužijete, nic se nezmění.',
        },
      ],
    }),
    'password-reset': (d, c) => ({
      subject: `Obnovení hesla do portálu ${c.portal}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `obdrželi jsme žádost o obnovení hesla k vašemu účtu (${d.name}) v portálu ${c.portal}. Nové heslo si zvolíte na tomto odkazu:`,
        },
        { button: 'Zvolit nové heslo', href: d.link },
        { p: `Odkaz lze použít jednou, platí do ${c.date(d.expiresAt)}.` },
        { note: 'Pokud jste o obnovení nežádali, tento e-mail ignorujte: vaše heslo zůstává beze změny.' },
      ],
    }),
    'contact-change-confirm': (d) => ({
      subject: `Potvrďte změnu ${CS_GEN[d.contactKind]} kontaktu služby ${d.serviceName}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `${d.requesterName} žádá o změnu ${CS_GEN[d.contactKind]} kontaktu služby ${d.serviceName}. Novým kontaktem má být ${d.newContactName}.`,
        },
        { p: 'Změnu schválíte nebo odmítnete na tomto odkazu, který vyplní váš potvrzovací kód:' },
        { button: 'Schválit nebo odmítnout', href: d.link },
        { codeLabel: 'Váš potvrzovací kód:', code: d.token },
        { p: `Tento kód patří jen vám (${d.name}); nikomu ho nepředávejte.` },
        { p: 'Změna se provede, až ji schválí žadatel i nový kontakt.' },
      ],
    }),
    'contact-change-applied': (d) => ({
      subject: `Změna ${CS_GEN[d.contactKind]} kontaktu služby ${d.serviceName}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `Novým ${CS_INS[d.contactKind]} kontaktem služby ${d.serviceName} je ${d.newContactName} (dříve ${d.oldContactName}).`,
        },
        { p: 'Změnu schválily obě strany.' },
      ],
    }),
    'account-request-link': (d, c) => ({
      subject: `Nastavení hesla do portálu ${c.portal}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `vaše žádost o účet v portálu ${c.portal}${d.name ? ` (${d.name})` : ''} byla ověřena. Heslo si nastavíte na tomto odkazu:`,
        },
        { button: 'Nastavit heslo', href: d.link },
        { p: `Odkaz lze použít jednou, platí do ${c.date(d.expiresAt)}.` },
        { note: 'Pokud jste o účet nežádali, tento e-mail ignorujte.' },
      ],
    }),
    'account-request-queued': (d, c) => ({
      subject: `Vaše žádost o účet ke smlouvě ${d.contractNumber}`,
      greeting: 'Dobrý den,',
      blocks: [
        {
          p: `přijali jsme vaši žádost o účet v portálu ${c.portal} ke smlouvě ${d.contractNumber}. Naši pracovníci ji prověří a ozvou se vám.`,
        },
        { note: 'Pokud jste o účet nežádali, tento e-mail ignorujte.' },
      ],
    }),
  },
}

const SK_GEN: Record<ContactKind, string> = {
  admin: 'administratívneho',
  technical: 'technického',
  billing: 'fakturačného',
}
const SK_INS: Record<ContactKind, string> = {
  admin: 'administratívnym',
  technical: 'technickým',
  billing: 'fakturačným',
}

const sk: LanguagePack = {
  locale: 'sk-SK',
  timeZone: 'Europe/Bratislava',
  portal: 'Zákaznícka zóna',
  copyLink: 'Ak tlačidlo nefunguje, skopírujte túto adresu do prehliadača:',
  footer: (portal) => `${portal} – táto správa bola odoslaná automaticky, neodpovedajte na ňu.`,
  letters: {
    invitation: (d, c) => ({
      subject: `Prístup do portálu ${c.portal}: ${d.customerName}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `${d.inviterName} vám dáva prístup do portálu ${c.portal} pre zákazníka ${d.customerName} s týmito rolami:`,
        },
        { list: d.roleNames },
        { button: 'Prijať pozvánku', href: d.link },
        {
          p: `Odkaz platí do ${c.date(d.expiresAt)}. Ak už máte prihlasovací účet, pozvánku prijmete s ním; inak si nastavíte heslo.`,
        },
        { note: 'Ak ste pozvánku nečakali, tento e-mail ignorujte: kým odkaz nepoužijete, nič sa nezmení.' },
      ],
    }),
    'password-reset': (d, c) => ({
      subject: `Obnovenie hesla do portálu ${c.portal}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `dostali sme žiadosť o obnovenie hesla k vášmu účtu (${d.name}) v portáli ${c.portal}. Nové heslo si zvolíte na tomto odkaze:`,
        },
        { button: 'Zvoliť nové heslo', href: d.link },
        { p: `Odkaz možno použiť raz, platí do ${c.date(d.expiresAt)}.` },
        { note: 'Ak ste o obnovenie nežiadali, tento e-mail ignorujte: vaše heslo zostáva bez zmeny.' },
      ],
    }),
    'contact-change-confirm': (d) => ({
      subject: `Potvrďte zmenu ${SK_GEN[d.contactKind]} kontaktu služby ${d.serviceName}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `${d.requesterName} žiada o zmenu ${SK_GEN[d.contactKind]} kontaktu služby ${d.serviceName}. Novým kontaktom má byť ${d.newContactName}.`,
        },
        { p: 'Zmenu schválite alebo odmietnete na tomto odkaze, ktorý vyplní váš potvrdzovací kód:' },
        { button: 'Schváliť alebo odmietnuť', href: d.link },
        { codeLabel: 'Váš potvrdzovací kód:', code: d.token },
        { p: `Tento kód patrí len vám (${d.name}); nikomu ho neposielajte.` },
        { p: 'Zmena sa vykoná, až keď ju schváli žiadateľ aj nový kontakt.' },
      ],
    }),
    'contact-change-applied': (d) => ({
      subject: `Zmena ${SK_GEN[d.contactKind]} kontaktu služby ${d.serviceName}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `Novým ${SK_INS[d.contactKind]} kontaktom služby ${d.serviceName} je ${d.newContactName} (predtým ${d.oldContactName}).`,
        },
        { p: 'Zmenu schválili obe strany.' },
      ],
    }),
    'account-request-link': (d, c) => ({
      subject: `Nastavenie hesla do portálu ${c.portal}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `vaša žiadosť o účet v portáli ${c.portal}${d.name ? ` (${d.name})` : ''} bola overená. Heslo si nastavíte na tomto odkaze:`,
        },
        { button: 'Nastaviť heslo', href: d.link },
        { p: `Odkaz možno použiť raz, platí do ${c.date(d.expiresAt)}.` },
        { note: 'Ak ste o účet nežiadali, tento e-mail ignorujte.' },
      ],
    }),
    'account-request-queued': (d, c) => ({
      subject: `Vaša žiadosť o účet k zmluve ${d.contractNumber}`,
      greeting: 'Dobrý deň,',
      blocks: [
        {
          p: `prijali sme vašu žiadosť o účet v portáli ${c.portal} k zmluve ${d.contractNumber}. Naši pracovníci ju preveria a ozvú sa vám.`,
        },
        { note: 'Ak ste o účet nežiadali, tento e-mail ignorujte.' },
      ],
    }),
  },
}

const PT_KIND: Record<ContactKind, string> = {
  admin: 'administrativo',
  technical: 'técnico',
  billing: 'de faturação',
}

const pt: LanguagePack = {
  locale: 'pt-PT',
  timeZone: 'Europe/Lisbon',
  portal: 'Área de Cliente',
  copyLink: 'Se o botão não funcionar, copie este endereço para o navegador:',
  footer: (portal) => `${portal} – mensagem enviada automaticamente; por favor, não responda.`,
  letters: {
    invitation: (d, c) => ({
      subject: `Convite para o portal ${c.portal}: ${d.customerName}`,
      greeting: 'Olá,',
      blocks: [
        {
          p: `${d.inviterName} enviou-lhe um convite para o portal ${c.portal} do cliente ${d.customerName}, com os seguintes perfis:`,
        },
        { list: d.roleNames },
        { button: 'Aceitar o convite', href: d.link },
        {
          p: `A ligação é válida até ${c.date(d.expiresAt)}. Se já tiver um utilizador, aceite com ele; caso contrário, irá definir uma palavra-passe.`,
        },
        {
          note: 'Se não esperava este convite, ignore este e-mail: nada muda enquanto a ligação não for usada.',
        },
      ],
    }),
    'password-reset': (d, c) => ({
      subject: `Reposição da palavra-passe – ${c.portal}`,
      greeting: `Olá ${d.name},`,
      blocks: [
        {
          p: `Recebemos um pedido para repor a palavra-passe do seu utilizador no portal ${c.portal}. Para escolher uma nova palavra-passe, abra esta ligação:`,
        },
        { button: 'Escolher nova palavra-passe', href: d.link },
        { p: `A ligação só pode ser usada uma vez e é válida até ${c.date(d.expiresAt)}.` },
        { note: 'Se não fez este pedido, ignore este e-mail: a sua palavra-passe mantém-se.' },
      ],
    }),
    'contact-change-confirm': (d) => ({
      subject: `Confirme: novo contacto ${PT_KIND[d.contactKind]} para ${d.serviceName}`,
      greeting: `Olá ${d.name},`,
      blocks: [
        {
          p: `${d.requesterName} pediu que ${d.newContactName} passe a ser o contacto ${PT_KIND[d.contactKind]} do serviço ${d.serviceName}.`,
        },
        {
          p: 'Para aprovar ou recusar a alteração, abra esta ligação; o seu código de confirmação já vem preenchido:',
        },
        { button: 'Aprovar ou recusar', href: d.link },
        { codeLabel: 'O seu código de confirmação:', code: d.token },
        { p: 'Este código é só seu: não o partilhe.' },
        { p: 'A alteração só é aplicada quando o requerente e o novo contacto a tiverem aprovado.' },
      ],
    }),
    'contact-change-applied': (d) => ({
      subject: `Novo contacto ${PT_KIND[d.contactKind]} para ${d.serviceName}`,
      greeting: 'Olá,',
      blocks: [
        {
          p: `${d.newContactName} é agora o contacto ${PT_KIND[d.contactKind]} do serviço ${d.serviceName}, em substituição de ${d.oldContactName}.`,
        },
        { p: 'Ambas as partes aprovaram a alteração.' },
      ],
    }),
    'account-request-link': (d, c) => ({
      subject: `Defina a sua palavra-passe – ${c.portal}`,
      greeting: d.name ? `Olá ${d.name},` : 'Olá,',
      blocks: [
        {
          p: `O seu pedido de acesso ao portal ${c.portal} foi confirmado. Para definir a sua palavra-passe, abra esta ligação:`,
        },
        { button: 'Definir palavra-passe', href: d.link },
        { p: `A ligação só pode ser usada uma vez e é válida até ${c.date(d.expiresAt)}.` },
        { note: 'Se não pediu uma conta, ignore este e-mail.' },
      ],
    }),
    'account-request-queued': (d, c) => ({
      subject: `O seu pedido de conta para o contrato ${d.contractNumber}`,
      greeting: 'Olá,',
      blocks: [
        {
          p: `Recebemos o seu pedido de acesso ao portal ${c.portal} para o contrato ${d.contractNumber}. A nossa equipa vai analisá-lo e entrará em contacto consigo.`,
        },
        { note: 'Se não pediu uma conta, ignore este e-mail.' },
      ],
    }),
  },
}

const IT_KIND: Record<ContactKind, string> = {
  admin: 'amministrativo',
  technical: 'tecnico',
  billing: 'di fatturazione',
}

const it: LanguagePack = {
  locale: 'it-IT',
  timeZone: 'Europe/Rome',
  portal: 'Area Clienti',
  copyLink: 'Se il pulsante non funziona, copi questo indirizzo nel browser:',
  footer: (portal) => `${portal} – messaggio inviato automaticamente, si prega di non rispondere.`,
  letters: {
    invitation: (d, c) => ({
      subject: `Invito al portale ${c.portal}: ${d.customerName}`,
      greeting: 'Gentile utente,',
      blocks: [
        {
          p: `${d.inviterName} Le ha inviato un invito al portale ${c.portal} del cliente ${d.customerName}, con i seguenti ruoli:`,
        },
        { list: d.roleNames },
        { button: "Accetta l'invito", href: d.link },
        {
          p: `Il link è valido fino al ${c.date(d.expiresAt)}. Se ha già un account, accetti con quello; altrimenti sceglierà una password.`,
        },
        {
          note: 'Se non si aspettava questo invito, ignori questa e-mail: nulla cambia finché il link non viene usato.',
        },
      ],
    }),
    'password-reset': (d, c) => ({
      subject: `Reimpostazione della password – ${c.portal}`,
      greeting: `Gentile ${d.name},`,
      blocks: [
        {
          p: `abbiamo ricevuto una richiesta di reimpostare la password del Suo account sul portale ${c.portal}. Per sceglierne una nuova, apra questo link:`,
        },
        { button: 'Scegli una nuova password', href: d.link },
        { p: `Il link può essere usato una sola volta ed è valido fino al ${c.date(d.expiresAt)}.` },
        { note: 'Se non ha fatto questa richiesta, ignori questa e-mail: la Sua password resta invariata.' },
      ],
    }),
    'contact-change-confirm': (d) => ({
      subject: `Confermi il nuovo contatto ${IT_KIND[d.contactKind]} di ${d.serviceName}`,
      greeting: `Gentile ${d.name},`,
      blocks: [
        {
          p: `${d.requesterName} ha chiesto che ${d.newContactName} diventi il contatto ${IT_KIND[d.contactKind]} del servizio ${d.serviceName}.`,
        },
        {
          p: 'Per approvare o rifiutare la modifica apra questo link, che inserisce già il Suo codice di conferma:',
        },
        { button: 'Approva o rifiuta', href: d.link },
        { codeLabel: 'Il Suo codice di conferma:', code: d.token },
        { p: 'Questo codice è solo Suo: non lo condivida.' },
        {
          p: "La modifica viene applicata solo quando sia il richiedente sia il nuovo contatto l'hanno approvata.",
        },
      ],
    }),
    'contact-change-applied': (d) => ({
      subject: `Nuovo contatto ${IT_KIND[d.contactKind]} per ${d.serviceName}`,
      greeting: 'Gentile utente,',
      blocks: [
        {
          p: `${d.newContactName} è ora il contatto ${IT_KIND[d.contactKind]} del servizio ${d.serviceName}, al posto di ${d.oldContactName}.`,
        },
        { p: 'Entrambe le parti hanno approvato la modifica.' },
      ],
    }),
    'account-request-link': (d, c) => ({
      subject: `Imposti la password – ${c.portal}`,
      greeting: d.name ? `Gentile ${d.name},` : 'Gentile utente,',
      blocks: [
        {
          p: `la Sua richiesta di accesso al portale ${c.portal} è stata confermata. Per impostare la password apra questo link:`,
        },
        { button: 'Imposta la password', href: d.link },
        { p: `Il link può essere usato una sola volta ed è valido fino al ${c.date(d.expiresAt)}.` },
        { note: 'Se non ha richiesto un account, ignori questa e-mail.' },
      ],
    }),
    'account-request-queued': (d, c) => ({
      subject: `La Sua richiesta di account per il contratto ${d.contractNumber}`,
      greeting: 'Gentile utente,',
      blocks: [
        {
          p: `abbiamo ricevuto la Sua richiesta di accesso al portale ${c.portal} per il contratto ${d.contractNumber}. Il nostro personale la verificherà e La contatterà.`,
        },
        { note: 'Se non ha richiesto un account, ignori questa e-mail.' },
      ],
    }),
  },
}

const PACKS: Record<MailLanguage, LanguagePack> = { cs, sk, pt, it, en }

/** 'cs', 'cs-CZ', 'CS_cz' → 'cs'; anything unknown (or missing) → 'en'. */
export function mailLanguage(language: string | null | undefined): MailLanguage {
  const primary = (language ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? ''
  return (MAIL_LANGUAGES as readonly string[]).includes(primary) ? (primary as MailLanguage) : 'en'
}

/**
 * One message of a kind in a language (fallback English): subject, plain text and HTML.
 * Data is put on one line each (no line breaks can sneak into a subject or forge text lines)
 * and escaped in the HTML; links must be http(s).
 */
export function renderMail<K extends MailKind>(kind: K, language: string, data: MailData[K]): RenderedMail {
  const pack = PACKS[mailLanguage(language)]
  const clean = oneLine(data)
  const formatter = new Intl.DateTimeFormat(pack.locale, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: clean.timeZone ?? pack.timeZone,
    timeZoneName: 'short',
  })
  const ctx: Ctx = { portal: clean.portalName || pack.portal, date: (value) => formatter.format(value) }
  const letter = (pack.letters[kind] as (d: MailData[K], c: Ctx) => Letter)(clean, ctx)
  const footer = pack.footer(ctx.portal)
  return {
    subject: letter.subject.replace(/\s+/g, ' ').trim(),
    text: renderText(letter, footer),
    html: renderHtml(letter, footer, pack, mailLanguage(language)),
  }
}

/** Every string of the data on one line, control characters gone; arrays and Dates kept. */
function oneLine<T>(data: T): T {
  const flat = (s: string) => s.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim()
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = flat(value)
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'string' ? flat(v) : v))
    else out[key] = value
  }
  return out as T
}

function renderText(letter: Letter, footer: string): string {
  const parts: string[] = [letter.greeting]
  for (const block of letter.blocks) {
    if ('p' in block) parts.push(block.p)
    else if ('list' in block) parts.push(block.list.map((item) => `  - ${item}`).join('\n'))
    else if ('button' in block) parts.push(`${block.button}:\n${block.href}`)
    else if ('code' in block) parts.push(`${block.codeLabel} ${block.code}`)
    else parts.push(block.note)
  }
  // '-- ' is the signature separator mail clients recognise.
  return `${parts.join('\n\n')}\n\n-- \n${footer}\n`
}

const STYLE = {
  body: 'margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1d1d1f',
  card: 'max-width:560px;margin:0 auto;background:#ffffff;padding:24px 28px;border-radius:6px',
  button:
    'display:inline-block;padding:10px 20px;background:#0b5cad;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold',
  small: 'font-size:13px;color:#5f6368',
  code: 'font-family:Consolas,Menlo,monospace;font-size:18px;letter-spacing:1px;background:#f4f5f7;padding:2px 6px',
  footer: 'font-size:12px;color:#80868b;border-top:1px solid #e0e0e0;padding-top:12px;margin-top:24px',
}

function renderHtml(letter: Letter, footer: string, pack: LanguagePack, language: MailLanguage): string {
  const e = escapeHtml
  const body: string[] = [`<p>${e(letter.greeting)}</p>`]
  for (const block of letter.blocks) {
    if ('p' in block) body.push(`<p>${e(block.p)}</p>`)
    else if ('list' in block)
      body.push(`<ul>${block.list.map((item) => `<li>${e(item)}</li>`).join('')}</ul>`)
    else if ('button' in block) {
      const href = safeHref(block.href)
      body.push(
        `<p><a href="${href}" style="${STYLE.button}">${e(block.button)}</a></p>`,
        `<p style="${STYLE.small}">${e(pack.copyLink)}<br><a href="${href}">${href}</a></p>`,
      )
    } else if ('code' in block)
      body.push(`<p>${e(block.codeLabel)} <code style="${STYLE.code}">${e(block.code)}</code></p>`)
    else body.push(`<p style="${STYLE.small}">${e(block.note)}</p>`)
  }
  return [
    '<!doctype html>',
    `<html lang="${language}">`,
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${e(letter.subject)}</title></head>`,
    `<body style="${STYLE.body}">`,
    `<div style="${STYLE.card}">`,
    ...body,
    `<p style="${STYLE.footer}">${e(footer)}</p>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
