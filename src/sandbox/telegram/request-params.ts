import type { IncomingMessage } from "node:http";
import { readMultipart, type MultipartFile } from "./read-multipart.js";

/** A parameter as it arrived: text, or an uploaded file. */
export type ParamValue = string | number | boolean | null | object | UploadedFile;

/** An uploaded file, as a multipart part. */
export type UploadedFile = MultipartFile;

/** Reads Bot API parameters from the query string, JSON, urlencoded or multipart bodies, as Telegram accepts all four. */
export async function readRequestParams(req: IncomingMessage, url: URL): Promise<Record<string, ParamValue>> {
  const params: Record<string, ParamValue> = Object.fromEntries(url.searchParams);
  if (req.method !== "POST") return params;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const type = req.headers["content-type"] ?? "";
  if (body.length === 0) return params;
  if (type.startsWith("application/json")) {
    return { ...params, ...(JSON.parse(body.toString("utf8")) as Record<string, ParamValue>) };
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString("utf8"))) };
  }
  if (type.startsWith("multipart/form-data")) {
    const parts = readMultipart(type, body);
    // grammY (like other clients) sends files as separate parts referenced by "attach://<name>".
    for (const [name, value] of Object.entries(parts)) {
      if (typeof value === "string" && value.startsWith("attach://"))
        params[name] = parts[value.slice("attach://".length)] ?? value;
      else params[name] = value;
    }
    return params;
  }
  return params;
}

/** A parameter that Telegram accepts either as JSON text (form bodies) or as a JSON value. */
export function jsonParam<T>(value: ParamValue | undefined): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return JSON.parse(value) as T;
  return value as T;
}

export function intParam(value: ParamValue | undefined): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function textParam(value: ParamValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "object" ? undefined : String(value);
}

export function isUploadedFile(value: ParamValue | undefined): value is UploadedFile {
  return typeof value === "object" && value !== null && (value as UploadedFile).kind === "file";
}
