import pg from "pg";

/** Logs in to a box's PostgreSQL as akira_app: its user name, or `refused: <why>`. */
export async function pgLogin(server: { host: string; port: number }, password: string): Promise<string> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: "akira_app",
    password,
    database: "akira",
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.query<{ u: string }>("select current_user as u")).rows[0]!.u;
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
