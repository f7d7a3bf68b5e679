/**
 * Who the load says it is. Floorplan shares one promotion load between concurrent requests
 * of the same user and selection (even with caching off), so a benchmark sending one user's
 * token on every connection would measure fewer upstream calls than production makes. Each
 * connection therefore speaks for its own user: PLUS demo users whose panel has exactly the
 * seed user's floors, so every request does the same work as u1001's and answers the same shape.
 */
import { getDemoUser } from '../src/demo-upstreams/data.ts';
import type { AuthConfig } from '../src/config/service-config.ts';
import { signDemoToken } from '../src/viewer/demo-token.ts';
import { graphqlBody, PANEL_QUERY, PANEL_USER, STATIC_PANEL } from './panel.ts';

/** What the mobile app sends with every request: its locale, platform and a version new enough for every style token. */
export const APP_HEADERS = { 'accept-language': 'zh-CN', 'x-app-platform': 'ios', 'x-app-version': '12.0.0' } as const;

/** Signed bearer tokens, one per user, and the headers every request carries. */
export class TokenBook {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly auth: AuthConfig) {}

  async sign(userIds: readonly string[]): Promise<void> {
    for (const userId of userIds) {
      if (this.tokens.has(userId)) continue;
      this.tokens.set(userId, await signDemoToken(this.auth, { userId, segments: PANEL_USER.segments, ttlSeconds: 86_400 }));
    }
  }

  /** The request headers for `userId`, whose token must have been signed. */
  headers(userId: string): Record<string, string> {
    const token = this.tokens.get(userId);
    if (token === undefined) throw new Error(`no bench token was signed for ${userId}`);
    return { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...APP_HEADERS };
  }
}

const SEED_CODES = JSON.stringify(STATIC_PANEL.floors.map((f) => f.code));

/** Demo users likely to render the seed floors: PLUS, a 立减 campaign, a claimed coupon. */
function* candidates(): Generator<string> {
  for (let n = 1; n <= 50_000; n++) {
    const userId = `plus-bench-${n}`;
    const user = getDemoUser(userId);
    if (user.membership.tier === 'plus' && user.instantCampaigns.length > 0 && user.coupons.some((c) => c.claimed)) yield userId;
  }
}

/**
 * `count` users whose panel, asked of a running Floorplan at `url`, lists exactly the seed
 * panel's floor codes. Checked 16 at a time; returns fewer only if the candidates run out.
 */
export async function seedLikeUsers(count: number, url: string, book: TokenBook): Promise<string[]> {
  const found: string[] = [];
  const source = candidates();
  const worker = async () => {
    while (found.length < count) {
      const next = source.next();
      if (next.done) return;
      const userId = next.value;
      await book.sign([userId]);
      const response = await fetch(url, { method: 'POST', headers: book.headers(userId), body: graphqlBody(PANEL_QUERY) });
      const answer = (await response.json()) as { data?: { floorPanel?: { degraded?: boolean; floors?: Array<{ code: string }> } } };
      const panel = answer.data?.floorPanel;
      if (panel?.degraded === false && JSON.stringify(panel.floors?.map((f) => f.code)) === SEED_CODES && found.length < count) found.push(userId);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return found;
}

/** The SKU ids of a demo user's ticked cart lines, in cart order. */
export function selectedSkus(userId: string): string[] {
  return getDemoUser(userId)
    .lines.filter((l) => l.selected)
    .map((l) => l.skuId);
}
