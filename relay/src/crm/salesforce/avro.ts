import avro from 'avsc';

/**
 * Avro types for Pub/Sub payloads, cached by schema id. Every event names the schema it was
 * written with; adding a field to the event gives new events a new schema id while older ones
 * still carry the old id, so decoding goes by each event's own id, never one schema per topic
 * (contracts/salesforce.md §1.6).
 */
export interface SchemaCache {
  typeFor(schemaId: string): Promise<avro.Type>;
  size(): number;
}

export function createSchemaCache(fetchSchemaJson: (schemaId: string) => Promise<string>): SchemaCache {
  const types = new Map<string, Promise<avro.Type>>();
  return {
    typeFor(schemaId) {
      let type = types.get(schemaId);
      if (!type) {
        type = fetchSchemaJson(schemaId).then((json) => parseSchema(json));
        types.set(schemaId, type);
        // A failed lookup (network, auth) must not poison the id: the next event asks again.
        type.catch(() => types.delete(schemaId));
      }
      return type;
    },
    size: () => types.size,
  };
}

export function parseSchema(schemaJson: string): avro.Type {
  // Nullable fields are ["null", T] unions; avsc's default 'auto' union wrapping decodes them to
  // the bare value or null, which is the shape the relay wants.
  return avro.Type.forSchema(JSON.parse(schemaJson) as avro.Schema);
}

/** Decodes one payload; throws when the bytes do not match the schema (Pub/Sub never checks, §1.6). */
export function decodePayload(type: avro.Type, payload: Buffer): Record<string, unknown> {
  const value: unknown = type.fromBuffer(payload);
  if (value === null || typeof value !== 'object') throw new Error('Avro payload is not a record');
  // avsc returns instances of a generated record class; copy into a plain object for callers.
  return { ...(value as Record<string, unknown>) };
}
