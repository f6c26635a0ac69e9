import type { CheckServices } from "../checks/check-kind.js";
import type { CheckResult } from "../doctor/doctor-checks.js";
import { envOf } from "../steps/run-command.js";
import { allSteps, type Environment, type Procedure } from "../runbook/runbook-schema.js";
import { monitorUrlOf, natsUserFor } from "../services/nats.js";
import { callBotApi } from "../telegram/call-bot-api.js";

type Env = Readonly<Record<string, string | undefined>>;
type Step = Procedure["steps"][number] | Procedure["rollback"][number];

const checkOf = (step: Step) => ("check" in step ? step.check : undefined);

/**
 * What the procedure's built-ins would talk to, reached now with the current credential and
 * nothing changed: a PostgreSQL login as each role it changes or checks (over TLS or not, as
 * PGSSLMODE says), NATS stream and consumer info as the current password's user, the monitoring
 * endpoint the reload is confirmed on (/varz) and the connection list the old-user check reads
 * (/connz?auth=true), and getMe with the current bot token. In each environment given.
 */
export async function rehearseConnections({
  procedure,
  current,
  environments,
  processEnv,
  services,
  telegramApiRoot,
}: {
  procedure: Procedure;
  current: string;
  environments: readonly Environment[];
  processEnv: Env;
  services: CheckServices;
  telegramApiRoot: string;
}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const steps = [...allSteps(procedure), ...procedure.rollback];
  const postgres = new Map<string, { role: string; database: string; host?: string; port?: number }>();
  for (const step of steps) {
    const check = checkOf(step);
    const target =
      step.kind === "postgres_set_password" ? step : check?.builtin.startsWith("postgres_") ? check : undefined;
    if (target && "role" in target)
      postgres.set(`${target.role}@${target.database}@${target.host ?? ""}:${target.port ?? ""}`, {
        role: target.role,
        database: target.database,
        ...(target.host ? { host: target.host } : {}),
        ...(target.port ? { port: target.port } : {}),
      });
  }
  const streams = steps.flatMap((s) => {
    const check = checkOf(s);
    return check?.builtin === "nats_stream_health" ? [check] : [];
  });
  const natsUsers = steps.flatMap((s) => {
    const check = checkOf(s);
    return check?.builtin === "nats_old_user_idle" ? [check] : [];
  });
  const reloads = steps.some((s) => s.kind === "nats_reload");

  for (const environment of environments) {
    const overlay = envOf(environment);
    const env: Env = { ...processEnv, ...overlay };
    const where = ` in ${environment.name}`;
    for (const target of postgres.values()) {
      const login = await services.postgres.login(target, current, overlay);
      results.push(
        login.ok
          ? {
              check: `postgres ${target.role}@${target.database}${where}`,
              status: "ok",
              detail: `${login.note} with the current password`,
            }
          : {
              check: `postgres ${target.role}@${target.database}${where}`,
              status: "fail",
              detail: login.message,
              fix: "a rotation would fail at its first PostgreSQL step: check PGHOST, PGPORT, PGSSLMODE and PGSSLROOTCERT of this environment, and the current vault value",
            },
      );
    }
    for (const check of streams) {
      const health = await services.nats.streamHealth(check, current, overlay);
      const user = natsUserFor(check.user ?? env.NATS_USER ?? "akira", current);
      results.push(
        health.ok
          ? {
              check: `nats ${check.stream}${where}`,
              status: "ok",
              detail: `${health.note} (as ${user}, the current password)`,
            }
          : {
              check: `nats ${check.stream}${where}`,
              status: "fail",
              detail: health.message,
              fix: "check NATS_URL (and NATS_CA for TLS) of this environment, and that the current password's user is in the server's config",
            },
      );
    }
    if (reloads) {
      const loaded = await services.nats.configLoadTime(monitorUrlOf(env), overlay);
      results.push(
        loaded
          ? {
              check: `nats monitor${where}`,
              status: "ok",
              detail: `${monitorUrlOf(env)}/varz answers (config loaded ${loaded}): a reload can be confirmed`,
            }
          : {
              check: `nats monitor${where}`,
              status: "fail",
              detail: `${monitorUrlOf(env)}/varz does not answer, so no reload could be confirmed`,
              fix: "set NATS_MONITOR_URL of this environment to the monitoring endpoint (and NATS_CA for https with a private CA)",
            },
      );
    }
    for (const check of natsUsers) {
      const users = [...new Set([natsUserFor(check.user, current), ...check.plain_users])];
      const listed = await services.nats.clientsOn(users, overlay);
      results.push(
        listed.ok
          ? {
              check: `nats clients${where}`,
              status: "ok",
              detail: `${listed.clients.length} client${listed.clients.length === 1 ? "" : "s"} logged in as the current user (${users.join(" or ")}) now: the rotation re-deploys the clients, and names any still on it before the old user is dropped`,
            }
          : {
              check: `nats clients${where}`,
              status: "fail",
              detail: listed.message,
              fix: "set NATS_MONITOR_URL of this environment",
            },
      );
    }
  }
  if (steps.some((s) => checkOf(s)?.builtin.startsWith("telegram_"))) {
    const me = await callBotApi(telegramApiRoot, current, "getMe", {}, 10_000).catch(() => undefined);
    results.push(
      me?.ok
        ? {
            check: "telegram current token",
            status: "ok",
            detail: `getMe answers with the current token: @${me.result?.username ?? "?"} (id ${me.result?.id ?? "?"})`,
          }
        : {
            check: "telegram current token",
            status: "fail",
            detail: me
              ? `getMe with the current token: ${me.error_code ?? "?"} ${me.description ?? ""}`.trim()
              : "the Bot API did not answer",
            fix:
              me?.error_code === 401
                ? "the token in the vault is already dead: put the bot's current token in the vault first"
                : "check TELEGRAM_API_ROOT and the network",
          },
    );
  }
  return results;
}
