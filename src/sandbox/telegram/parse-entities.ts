import type { MessageEntity } from "grammy/types";

/** Text as Telegram stores it after parsing: plain text plus entities (UTF-16 offsets). */
export interface ParsedText {
  text: string;
  entities: MessageEntity[];
}

/** Thrown with Telegram's own wording ("Bad Request: can't parse entities: ..."). */
export class EntityParseError extends Error {}

const byteOffset = (source: string, index: number) => Buffer.byteLength(source.slice(0, index));
const fail = (detail: string): never => {
  throw new EntityParseError(`Bad Request: can't parse entities: ${detail}`);
};

const HTML_TAGS: Record<string, MessageEntity["type"] | "spoiler-span"> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler-span",
  a: "text_link",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  "tg-emoji": "custom_emoji",
};
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/** Parses Telegram HTML the way the Bot API does, rejecting what it rejects. */
export function parseHtml(source: string): ParsedText {
  let text = "";
  const entities: MessageEntity[] = [];
  const open: { tag: string; type: MessageEntity["type"] | null; offset: number; url?: string; language?: string }[] =
    [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "<") {
      const end = source.indexOf(">", i);
      if (end === -1) fail(`Unclosed start tag at byte offset ${byteOffset(source, i)}`);
      const body = source.slice(i + 1, end);
      if (body.startsWith("/")) {
        const name = body.slice(1).trim().toLowerCase();
        const top = open.pop();
        if (!top) fail(`Unexpected end tag at byte offset ${byteOffset(source, i)}`);
        if (top!.tag !== name) fail(`Can't find end tag corresponding to start tag "${top!.tag}"`);
        const length = text.length - top!.offset;
        if (length > 0 && top!.type !== null) {
          const entity = { type: top!.type, offset: top!.offset, length } as MessageEntity;
          if (top!.url !== undefined) Object.assign(entity, { url: top!.url });
          if (top!.language !== undefined) Object.assign(entity, { language: top!.language });
          entities.push(entity);
        }
      } else {
        const match = /^([a-z-]+)(\s[^]*)?$/i.exec(body);
        const name = match?.[1]?.toLowerCase() ?? body;
        const kind = HTML_TAGS[name];
        if (!match || !kind) fail(`Unsupported start tag "${name}" at byte offset ${byteOffset(source, i)}`);
        const attrs = Object.fromEntries(
          [...(match![2] ?? "").matchAll(/([a-z-]+)\s*=\s*"([^"]*)"/gi)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
        );
        const parent = open[open.length - 1];
        if (parent && (parent.type === "code" || parent.type === null || (parent.type === "pre" && name !== "code"))) {
          fail(`Can't parse entities inside ${parent.tag}: tag "${name}" at byte offset ${byteOffset(source, i)}`);
        }
        if (kind === "spoiler-span" && attrs.class !== "tg-spoiler")
          fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(source, i)}`);
        if (kind === "text_link" && !attrs.href)
          fail(`Tag "a" must have attribute "href" at byte offset ${byteOffset(source, i)}`);
        if (kind === "code" && parent?.type === "pre") {
          if (attrs.class?.startsWith("language-")) parent.language = attrs.class.slice("language-".length);
          open.push({ tag: name, type: null, offset: text.length });
        } else {
          open.push({
            tag: name,
            type: kind === "spoiler-span" ? "spoiler" : kind!,
            offset: text.length,
            ...(attrs.href ? { url: attrs.href } : {}),
          });
        }
      }
      i = end + 1;
    } else if (ch === "&") {
      const match = /^&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/i.exec(source.slice(i, i + 12));
      if (!match) fail(`Character entity expected at byte offset ${byteOffset(source, i)}: escape & as &amp;`);
      const name = match![1]!;
      if (name.startsWith("#x") || name.startsWith("#X")) text += String.fromCodePoint(parseInt(name.slice(2), 16));
      else if (name.startsWith("#")) text += String.fromCodePoint(Number(name.slice(1)));
      else if (NAMED_ENTITIES[name.toLowerCase()] !== undefined) text += NAMED_ENTITIES[name.toLowerCase()];
      else fail(`Unsupported HTML entity "&${name};" at byte offset ${byteOffset(source, i)}`);
      i += match![0].length;
    } else {
      text += ch;
      i++;
    }
  }
  if (open.length > 0) fail(`Can't find end tag corresponding to start tag "${open[open.length - 1]!.tag}"`);
  return { text, entities: entities.sort((a, b) => a.offset - b.offset) };
}

const MD_RESERVED = new Set("_*[]()~`>#+-=|{}.!\\".split(""));
const MD_MARKERS: [string, MessageEntity["type"]][] = [
  ["||", "spoiler"],
  ["__", "underline"],
  ["*", "bold"],
  ["_", "italic"],
  ["~", "strikethrough"],
];

/** Parses MarkdownV2, including the rule that every reserved character outside entities is escaped. */
export function parseMarkdownV2(source: string): ParsedText {
  let text = "";
  const entities: MessageEntity[] = [];
  const open: { marker: string; type: MessageEntity["type"]; offset: number; at: number }[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "\\") {
      const next = source[i + 1];
      if (next === undefined || !MD_RESERVED.has(next))
        fail(`Character '\\' is reserved and must be escaped with the preceding '\\'`);
      text += next;
      i += 2;
      continue;
    }
    if (source.startsWith("```", i)) {
      const end = indexOfUnescaped(source, "```", i + 3);
      if (end === -1) fail(`Can't find end of Pre entity at byte offset ${byteOffset(source, i)}`);
      const body = source.slice(i + 3, end);
      const newline = body.indexOf("\n");
      const language = newline > 0 && /^\w+$/.test(body.slice(0, newline)) ? body.slice(0, newline) : undefined;
      const content = (language ? body.slice(newline + 1) : body).replace(/\\([`\\])/g, "$1");
      entities.push({ type: "pre", offset: text.length, length: content.length, ...(language ? { language } : {}) });
      text += content;
      i = end + 3;
      continue;
    }
    if (ch === "`") {
      const end = indexOfUnescaped(source, "`", i + 1);
      if (end === -1) fail(`Can't find end of Code entity at byte offset ${byteOffset(source, i)}`);
      const content = source.slice(i + 1, end).replace(/\\([`\\])/g, "$1");
      entities.push({ type: "code", offset: text.length, length: content.length });
      text += content;
      i = end + 1;
      continue;
    }
    if (ch === "[") {
      open.push({ marker: "[", type: "text_link", offset: text.length, at: i });
      i++;
      continue;
    }
    if (ch === "]" && open[open.length - 1]?.marker === "[" && source[i + 1] === "(") {
      const end = source.indexOf(")", i + 2);
      if (end === -1) fail(`Can't find end of a URL at byte offset ${byteOffset(source, i)}`);
      const start = open.pop()!;
      entities.push({
        type: "text_link",
        offset: start.offset,
        length: text.length - start.offset,
        url: source.slice(i + 2, end),
      });
      i = end + 1;
      continue;
    }
    const marker = MD_MARKERS.find(([m]) => source.startsWith(m, i));
    if (marker) {
      const [m, type] = marker;
      const top = open[open.length - 1];
      if (top?.marker === m) {
        open.pop();
        entities.push({ type, offset: top.offset, length: text.length - top.offset } as MessageEntity);
      } else {
        open.push({ marker: m, type, offset: text.length, at: i });
      }
      i += m.length;
      continue;
    }
    if (MD_RESERVED.has(ch)) fail(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
    text += ch;
    i++;
  }
  const unclosed = open.pop();
  if (unclosed) {
    const name =
      unclosed.type === "text_link" ? "TextUrl" : unclosed.type.charAt(0).toUpperCase() + unclosed.type.slice(1);
    fail(`Can't find end of ${name} entity at byte offset ${byteOffset(source, unclosed.at)}`);
  }
  return { text, entities: entities.sort((a, b) => a.offset - b.offset) };
}

/** Applies a `parse_mode` the way sendMessage does; plain text when none is given. */
export function parseWithMode(source: string, parseMode: unknown): ParsedText {
  if (parseMode === undefined || parseMode === null || parseMode === "") return { text: source, entities: [] };
  if (parseMode === "HTML") return parseHtml(source);
  if (parseMode === "MarkdownV2") return parseMarkdownV2(source);
  if (parseMode === "Markdown") return { text: source.replace(/[*_`[\]]/g, ""), entities: [] };
  throw new EntityParseError(`Bad Request: unsupported parse_mode`);
}

/** Like indexOf, skipping matches preceded by an escaping backslash. */
function indexOfUnescaped(source: string, needle: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source.startsWith(needle, i)) return i;
  }
  return -1;
}
