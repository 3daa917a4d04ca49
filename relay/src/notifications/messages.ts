/**
 * What the relay tells people, and how each receiver wants it said. Pure: a notification and a
 * format in, the JSON body of one POST out. Three formats:
 *  - `slack`: an incoming-webhook message (`text` as the fallback, plus Block Kit `blocks`);
 *  - `teams`: an incoming-webhook / Workflows message carrying one Adaptive Card (1.4);
 *  - `json`: the notification itself, for a receiver of the operator's own.
 */

export const NOTIFICATION_KINDS = [
  'referral-received',
  'referral-accepted',
  'referral-declined',
  'referral-expiring',
  'sync-error',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFICATION_FORMATS = ['slack', 'teams', 'json'] as const;
export type NotificationFormat = (typeof NOTIFICATION_FORMATS)[number];

export interface Notification {
  kind: NotificationKind;
  /** When it happened (ISO 8601). */
  at: string;
  referralId?: string;
  /** The CRM record paired with the referral, when there is one. */
  dealId?: string;
  /** The referral's or deal's name, as the seller knows it. */
  name?: string;
  /** Links to the referral in Partner Center and to the deal in the CRM. */
  referralUrl?: string;
  dealUrl?: string;
  /** referral-expiring: when an unanswered incoming referral expires. */
  expiresAt?: string;
  /** referral-declined: Microsoft's reason; sync-error: the error's code and message. */
  reason?: string;
  errorCode?: string;
}

const TITLES: Record<NotificationKind, string> = {
  'referral-received': 'New co-sell referral from Microsoft',
  'referral-accepted': 'Microsoft accepted the co-sell referral',
  'referral-declined': 'Microsoft declined the co-sell referral',
  'referral-expiring': 'Co-sell referral expires soon',
  'sync-error': 'Co-sell sync error',
};

/** One line a person reads first, for every format. */
export function summaryOf(notification: Notification): string {
  const name = notification.name ?? notification.referralId ?? notification.dealId ?? 'a referral';
  switch (notification.kind) {
    case 'referral-received':
      return `${name}: a new referral shared by Microsoft is waiting for an answer.`;
    case 'referral-accepted':
      return `${name}: Microsoft accepted the referral.`;
    case 'referral-declined':
      return `${name}: Microsoft declined the referral${notification.reason ? ` (${notification.reason})` : ''}.`;
    case 'referral-expiring':
      return `${name}: unanswered; it expires ${notification.expiresAt ?? 'soon'}.`;
    case 'sync-error':
      return `${name}: ${notification.errorCode ? `${notification.errorCode}: ` : ''}${notification.reason ?? 'the sync failed'}.`;
  }
}

/** Slack's mrkdwn treats &, < and > as control characters: escaped, a name cannot inject a link or mention. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Only http(s) links leave the relay; anything else is dropped rather than rendered. */
function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : undefined;
  } catch {
    return undefined;
  }
}

function links(notification: Notification): Array<{ title: string; url: string }> {
  const out: Array<{ title: string; url: string }> = [];
  const referral = safeUrl(notification.referralUrl);
  const deal = safeUrl(notification.dealUrl);
  if (referral) out.push({ title: 'Open in Partner Center', url: referral });
  if (deal) out.push({ title: 'Open the deal', url: deal });
  return out;
}

function facts(notification: Notification): Array<{ title: string; value: string }> {
  const out: Array<{ title: string; value: string }> = [];
  if (notification.referralId) out.push({ title: 'Referral', value: notification.referralId });
  if (notification.dealId) out.push({ title: 'Deal', value: notification.dealId });
  if (notification.expiresAt) out.push({ title: 'Expires', value: notification.expiresAt });
  if (notification.errorCode) out.push({ title: 'Error', value: notification.errorCode });
  out.push({ title: 'At', value: notification.at });
  return out;
}

export function messageFor(notification: Notification, format: NotificationFormat): Record<string, unknown> {
  const title = TITLES[notification.kind];
  const summary = summaryOf(notification);
  if (format === 'json') return { ...notification, title, summary };
  if (format === 'slack') {
    const blocks: unknown[] = [
      { type: 'header', text: { type: 'plain_text', text: title } },
      { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(summary) } },
      {
        type: 'context',
        elements: facts(notification).map((f) => ({
          type: 'mrkdwn',
          text: `*${escapeSlack(f.title)}:* ${escapeSlack(f.value)}`,
        })),
      },
    ];
    const buttons = links(notification);
    if (buttons.length > 0)
      blocks.push({
        type: 'actions',
        elements: buttons.map((b) => ({
          type: 'button',
          text: { type: 'plain_text', text: b.title },
          url: b.url,
        })),
      });
    return { text: escapeSlack(`${title}: ${summary}`), blocks };
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: title, wrap: true },
            { type: 'TextBlock', text: summary, wrap: true },
            { type: 'FactSet', facts: facts(notification) },
          ],
          actions: links(notification).map((l) => ({ type: 'Action.OpenUrl', title: l.title, url: l.url })),
        },
      },
    ],
  };
}
