/** RFC 6750's `Bearer 1*SP b64token`: a JWT fits; anything with spaces or other characters does not. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The token of an `Authorization: Bearer …` header, or undefined when there is none or it is malformed. */
export const bearerOf = (authorization: string | null | undefined): string | undefined => BEARER.exec(authorization ?? '')?.[1];
