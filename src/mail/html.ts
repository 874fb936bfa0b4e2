/**
 * HTML escaping for mail templates and the dev mail pages. Every piece of data goes through
 * it; templates never concatenate raw data into markup.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}

/**
 * Safe in element content and in quoted attribute values.
 *
 * @example escapeHtml('<script>alert("x")</script>') // '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c)
}

/**
 * A link target for an href: only http(s) URLs pass, so data can never smuggle in a
 * `javascript:` link. Returns the escaped URL.
 */
export function safeHref(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new TypeError(`only http and https links go into mail, not ${parsed.protocol}`)
  return escapeHtml(parsed.href)
}
