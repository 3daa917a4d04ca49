/** Types of view.js (plain JavaScript, because the page inlines it for the browser). */
export interface VNode {
  tag: string;
  attrs: Record<string, string | number | boolean | null | undefined>;
  children: Array<VNode | string | number>;
}

/** The page's own query: search, status filter, audit level, chart range. */
export interface DashboardQuery {
  q?: string;
  status?: string;
  level?: string;
  range?: string;
}

/** What the panels render: the admin API's JSON answers, as the browser receives them. */
export interface DashboardData {
  status: unknown;
  /** A page of /api/links: { links, total, next, prev }. */
  links: unknown;
  audit: unknown[];
  deadLetters: unknown[];
  deadLetterKinds: unknown[];
  /** /api/stats for the chosen range. */
  stats: unknown;
  query: DashboardQuery;
  /** ISO time the data was read; relative times ("12 s ago") count from it. */
  generatedAt: string;
}

export function escapeHtml(value: unknown): string;
export function toHtml(node: VNode | string | number): string;
export function panels(data: DashboardData): Record<string, VNode>;
export function pairView(detail: unknown, now: string): VNode;
export function queryString(params: Record<string, string | undefined>): string;
