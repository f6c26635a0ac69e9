import type { Api } from "grammy";
import { buildAgeReport } from "../age/build-age-report.js";
import { todayIn } from "../time/calendar-date.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { formatDigest } from "./format-digest.js";

export interface DigestSenderDeps {
  api: Pick<Api, "sendMessage">;
  runbook: Runbook;
  manifestFile: string;
  opsChatId: number;
  /** The forum topic of the ops chat the digest goes to (DIGEST_TOPIC_ID); undefined: the general topic. */
  topicId?: number | undefined;
  dueSoonDays: number;
  /** The digest's time zone: "today" is the date there when it runs. */
  timeZone: string;
}

/** Reads the manifest fresh and posts the digest to the ops chat, or nothing when nothing needs action. */
export function createDigestSender({
  api,
  runbook,
  manifestFile,
  opsChatId,
  topicId,
  dueSoonDays,
  timeZone,
}: DigestSenderDeps) {
  return async (at: Date): Promise<"sent" | "nothing_due"> => {
    const asOf = todayIn(timeZone, at);
    const digest = formatDigest(await buildAgeReport(runbook, manifestFile, { asOf, dueSoonDays }), {
      asOf,
      manifestFile,
    });
    if (!digest) return "nothing_due";
    await api.sendMessage(opsChatId, digest.html, {
      parse_mode: "HTML",
      reply_markup: digest.keyboard,
      link_preview_options: { is_disabled: true },
      ...(topicId !== undefined ? { message_thread_id: topicId } : {}),
    });
    return "sent";
  };
}
