import { open } from "node:fs/promises";

/**
 * The last `maxBytes` of a file, starting at a line, and how many bytes before it were left out;
 * undefined when the file cannot be read or is empty. Reads only what it returns.
 */
export async function readFileTail(
  file: string,
  maxBytes: number,
): Promise<{ content: Buffer; cutBytes: number } | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    let content = buffer.subarray(0, bytesRead);
    let cutBytes = start;
    if (start > 0) {
      // Start at the first whole line.
      const newline = content.indexOf(0x0a);
      if (newline >= 0 && newline < content.length - 1) {
        content = content.subarray(newline + 1);
        cutBytes += newline + 1;
      }
    }
    return { content, cutBytes };
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
