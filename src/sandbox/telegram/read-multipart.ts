/** A file part of a multipart/form-data body. */
export interface MultipartFile {
  kind: "file";
  filename: string;
  contentType: string;
  content: Buffer;
}

const CRLF = "\r\n";

/** The value of a Content-Disposition parameter, quoted (with backslash escapes) or a bare token. */
function dispositionParam(header: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i").exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]!.trim();
}

/**
 * The parts of a multipart/form-data body (RFC 7578): a part with a filename is a file, any
 * other a text field. It reads what the Bot API accepts, which is looser than the web platform's
 * parser (Request.formData() refuses it): grammY 1.46 (src/core/payload.ts) writes
 * `content-disposition:form-data;name="document"` without spaces and `filename=step.log`
 * unquoted, and Telegram takes it. Throws on a body that is not multipart at all (no boundary,
 * no parts, a part without headers), which the Bot API refuses too.
 */
export function readMultipart(contentType: string, body: Buffer): Record<string, string | MultipartFile> {
  const boundary = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw new Error("multipart/form-data without a boundary");
  const delimiter = `--${boundary[1] ?? boundary[2]}`;
  const parts: Record<string, string | MultipartFile> = {};
  let at = body.indexOf(delimiter);
  if (at === -1) throw new Error("multipart/form-data body without its boundary");
  for (;;) {
    const start = at + delimiter.length;
    if (body.toString("latin1", start, start + 2) === "--") return parts; // the close delimiter
    const headersStart = body.indexOf(CRLF, start) + CRLF.length;
    const next = body.indexOf(`${CRLF}${delimiter}`, headersStart);
    const headersEnd = body.indexOf(`${CRLF}${CRLF}`, headersStart);
    if (headersStart < CRLF.length || next === -1 || headersEnd === -1 || headersEnd > next)
      throw new Error("malformed multipart/form-data part");
    const headers = new Map(
      body
        .toString("utf8", headersStart, headersEnd)
        .split(CRLF)
        .map((line) => [
          line.slice(0, line.indexOf(":")).trim().toLowerCase(),
          line.slice(line.indexOf(":") + 1).trim(),
        ]),
    );
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    const filename = dispositionParam(disposition, "filename");
    const content = body.subarray(headersEnd + 2 * CRLF.length, next);
    if (name !== undefined)
      parts[name] =
        filename === undefined
          ? content.toString("utf8")
          : {
              kind: "file",
              filename: filename || name,
              // RFC 7578, 4.4: a part that names no Content-Type is text/plain.
              contentType: headers.get("content-type") || "text/plain",
              content: Buffer.from(content),
            };
    at = next + CRLF.length;
  }
}
