/** Types of view.js (plain JavaScript, because the page inlines it for the browser). */
export interface VNode {
  tag: string;
  attrs: Record<string, string | number | boolean | null | undefined>;
  children: Array<VNode | string | number>;
}

/** What the panels render: the admin API's JSON answers, as the browser receives them. */
export interface DashboardData {
  status: unknown;
  links: unknown[];
  audit: unknown[];
  deadLetters: unknown[];
  /** ISO time the data was read; relative times ("12 s ago") count from it. */
  generatedAt: string;
}

export function escapeHtml(value: unknown): string;
export function toHtml(node: VNode | string | number): string;
export function panels(data: DashboardData): Record<string, VNode>;
