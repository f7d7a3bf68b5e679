/** The longest user id (a token's `sub`): OpenID Connect allows 255 ASCII characters (Core 1.0, 2), and an identity provider may use them all. */
export const MAX_USER_ID_LENGTH = 255;

/**
 * Why `id` cannot be a user id, or undefined. The cart is asked for at `/carts/<user id>`, and `.`
 * or `..` there is a dot segment: percent-encoded or not, a proxy or server that resolves those
 * (nginx, Envoy, WHATWG URL parsing) would ask for another path than that user's cart.
 */
export function userIdProblem(id: string): string | undefined {
  return id === '.' || id === '..' ? `must not be "." or ".." (a user id is a segment of the cart service's URL, where a proxy reads either as another path), but it is ${JSON.stringify(id)}` : undefined;
}
