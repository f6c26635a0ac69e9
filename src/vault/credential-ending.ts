/**
 * The last 4 characters by which cards name a credential ("revoke the token ending …dFeC"). For a
 * DSN (`https://<public key>[:<secret key>]@<host>/<project id>`, Sentry's form) they are the end
 * of its key: the project id is no secret and the same for every key of the project, so "both end
 * in …4507" would name nothing.
 */
export function credentialEnding(value: string): string {
  const dsn = /^[a-z][a-z0-9+.-]*:\/\/([^:@/\s]+)(?::[^@/\s]*)?@[^/\s]+\/\S*$/i.exec(value);
  return (dsn ? dsn[1]! : value).slice(-4);
}
