/** The longest user id (a token's `sub`): OpenID Connect allows 255 ASCII characters (Core 1.0, 2), and an identity provider may use them all. */
export const MAX_USER_ID_LENGTH = 255;
