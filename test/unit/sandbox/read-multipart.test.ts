import { describe, expect, it } from "vitest";
import { readMultipart } from "../../../src/sandbox/telegram/read-multipart.js";

const BOUNDARY = "----------wjt1yy28qdhm0ggms8kspayaf7ixxuh6";
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** A body as grammY 1.46 writes it for sendDocument (captured here): no spaces, the filename unquoted. */
const grammyBody = (file: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\ncontent-disposition:form-data;name="chat_id"\r\n\r\n-1\r\n` +
        `--${BOUNDARY}\r\ncontent-disposition:form-data;name="document"\r\n\r\nattach://63a6oc0m2lg8g2bn\r\n` +
        `--${BOUNDARY}\r\ncontent-disposition:form-data;name="63a6oc0m2lg8g2bn";filename=step.log\r\ncontent-type:application/octet-stream\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);

describe("readMultipart (the local Bot API's multipart/form-data)", () => {
  it("reads grammY's bodies, which the web platform's parser refuses, bytes of a file unchanged", async () => {
    const body = grammyBody(BINARY);
    const type = `multipart/form-data; boundary=${BOUNDARY}`;
    expect(readMultipart(type, body)).toEqual({
      chat_id: "-1",
      document: "attach://63a6oc0m2lg8g2bn",
      "63a6oc0m2lg8g2bn": {
        kind: "file",
        filename: "step.log",
        contentType: "application/octet-stream",
        content: BINARY,
      },
    });
    // Why not Request.formData(): it refuses what grammY sends and Telegram accepts.
    await expect(
      new Request("http://x/", { method: "POST", headers: { "content-type": type }, body }).formData(),
    ).rejects.toThrow();
  });

  it("reads the web platform's own bodies (quoted names, a part without a Content-Type is text/plain)", async () => {
    const form = new FormData();
    form.append("caption", 'a "quoted" caption\r\nover two lines');
    form.append("document", new Blob([BINARY]), "full log.txt");
    const request = new Request("http://x/", { method: "POST", body: form });
    const body = Buffer.from(await request.arrayBuffer());
    const parts = readMultipart(request.headers.get("content-type")!, body);
    expect(parts.caption).toBe('a "quoted" caption\r\nover two lines');
    expect(parts.document).toMatchObject({ kind: "file", filename: "full log.txt", content: BINARY });
    const noType = Buffer.from(
      `--b\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\nfile\r\n--b--\r\n`,
    );
    expect(readMultipart("multipart/form-data; boundary=b", noType).f).toMatchObject({ contentType: "text/plain" });
  });

  it("refuses a body that is not multipart: no boundary, no parts, a part cut short", () => {
    expect(() => readMultipart("multipart/form-data", grammyBody(BINARY))).toThrow(/without a boundary/);
    expect(() => readMultipart("multipart/form-data; boundary=zz", Buffer.from("plain text"))).toThrow(
      /without its boundary/,
    );
    expect(() =>
      readMultipart("multipart/form-data; boundary=b", Buffer.from('--b\r\ncontent-disposition:form-data;name="x"')),
    ).toThrow(/malformed/);
  });
});
