// Reads an MCAP file with the reference TypeScript reader (@mcap/core, indexed: footer, summary,
// chunk indexes) and prints what it found as JSON, for McapConformanceTest to compare. With
// --decode, it also decodes every protobuf message with its channel's schema, as Foxglove does
// (@mcap/support's protobufFromBinaryDescriptor), and prints the first of each topic.
import { open } from "node:fs/promises";
import { McapIndexedReader } from "@mcap/core";
import { loadDecompressHandlers, protobufFromBinaryDescriptor } from "@mcap/support";

const decode = process.argv[3] === "--decode";

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
  decoded: {},
};
const types = new Map();
for (const channel of reader.channelsById.values()) {
  const schema = reader.schemasById.get(channel.schemaId);
  if (decode && channel.messageEncoding === "protobuf" && schema?.encoding === "protobuf") {
    types.set(channel.id, protobufFromBinaryDescriptor(schema.data).lookupType(schema.name));
  }
}
for await (const message of reader.readMessages({ validateCrcs: true })) {
  out.messages.push({
    channelId: message.channelId, sequence: message.sequence, logTime: message.logTime.toString(),
    publishTime: message.publishTime.toString(), size: message.data.length,
  });
  const type = types.get(message.channelId);
  if (type) {
    const topic = reader.channelsById.get(message.channelId).topic;
    const object = type.toObject(type.decode(message.data), { longs: String, enums: String, bytes: String });
    const seen = out.decoded[topic] ?? (out.decoded[topic] = { count: 0, first: object });
    seen.count++;
  }
}
await file.close();
console.log(JSON.stringify(out));
