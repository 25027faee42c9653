// Reads an MCAP file with the reference TypeScript reader (@mcap/core, indexed: footer, summary,
// chunk indexes) and prints what it found as JSON, for McapConformanceTest to compare.
import { open } from "node:fs/promises";
import { McapIndexedReader } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";

const file = await open(process.argv[2], "r");
const readable = {
  size: async () => BigInt((await file.stat()).size),
  read: async (offset, length) => {
    const buffer = new Uint8Array(Number(length));
    await file.read(buffer, 0, Number(length), Number(offset));
    return buffer;
  },
};
const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: await loadDecompressHandlers() });
const out = {
  profile: reader.header.profile,
  library: reader.header.library,
  schemas: [...reader.schemasById.values()].map((s) => ({ id: s.id, name: s.name, encoding: s.encoding, size: s.data.length })),
  channels: [...reader.channelsById.values()].map((c) => ({
    id: c.id, schemaId: c.schemaId, topic: c.topic, messageEncoding: c.messageEncoding,
    metadata: Object.fromEntries(c.metadata),
  })),
  statistics: {
    messageCount: Number(reader.statistics.messageCount),
    chunkCount: reader.statistics.chunkCount,
    messageStartTime: reader.statistics.messageStartTime.toString(),
    messageEndTime: reader.statistics.messageEndTime.toString(),
  },
  chunks: reader.chunkIndexes.length,
  messages: [],
};
for await (const message of reader.readMessages({ validateCrcs: true })) {
  out.messages.push({
    channelId: message.channelId, sequence: message.sequence, logTime: message.logTime.toString(),
    publishTime: message.publishTime.toString(), size: message.data.length,
  });
}
await file.close();
console.log(JSON.stringify(out));
