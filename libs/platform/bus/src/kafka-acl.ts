import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Admin, ResourcePatternTypes } from 'kafkajs';
import { COMPACTED_TOPICS, KafkaParty, kafkaRights, RETAINED_TOPICS, Topic } from '@countersign/contracts';

/** The topics whose settings a service checks at boot: the compacted and the retained. */
const SETTLED_TOPICS: ReadonlySet<string> = new Set<Topic>([...COMPACTED_TOPICS, ...RETAINED_TOPICS]);

/** The Kafka principal of a party's certificate (`CN=<party>`, the broker maps an SSL client to its subject). */
export const kafkaPrincipal = (party: KafkaParty) => `User:CN=${party}`;

type AclEntry = Parameters<Admin['createAcls']>[0]['acl'][number];

/**
 * The ACLs that give `party` exactly its rights from the topic tables (`kafkaRights`), for the topics of `namespace`
 * (a test run's prefix, '' in production): WRITE on each topic it writes, READ on each it reads (`TOPIC_READERS`),
 * DESCRIBE on the other topics it must see exist (WRITE and READ imply DESCRIBE), and READ on the consumer groups of its
 * namespace when it consumes (and DELETE on them). Nothing else: no CREATE, no ALTER, no other service's group, no
 * READ on a topic its consumers do not subscribe to: topics are created by the operator (or a test run's admin) over
 * the plaintext listener.
 */
export function kafkaAcls(party: KafkaParty, namespace = ''): AclEntry[] {
  const ns = namespace ? `${namespace}.` : '';
  const rights = kafkaRights(party);
  const principal = kafkaPrincipal(party);
  const entry = (resourceType: AclResourceTypes, resourceName: string, operation: AclOperationTypes, pattern = ResourcePatternTypes.LITERAL): AclEntry => ({
    resourceType,
    resourceName,
    resourcePatternType: pattern,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  return [
    ...rights.write.map((t) => entry(AclResourceTypes.TOPIC, ns + t, AclOperationTypes.WRITE)),
    ...rights.read.map((t) => entry(AclResourceTypes.TOPIC, ns + t, AclOperationTypes.READ)),
    // Metadata only (a describe lets no record through): the bus checks at boot that every registry topic exists.
    ...rights.describe
      .filter((t) => !rights.write.includes(t) && !rights.read.includes(t))
      .map((t) => entry(AclResourceTypes.TOPIC, ns + t, AclOperationTypes.DESCRIBE)),
    // The settings of the compacted and retained topics it touches, read (not changed) at boot: a service whose control
    // topics would lose events refuses to start (kafka-topics.ts `KafkaTopicSettings`).
    ...[...new Set([...rights.write, ...rights.read, ...rights.describe])]
      .filter((t) => SETTLED_TOPICS.has(t))
      .map((t) => entry(AclResourceTypes.TOPIC, ns + t, AclOperationTypes.DESCRIBE_CONFIGS)),
    // A service's groups are named after it (`<namespace>.<service>…`): it may join those and no other service's.
    // (DELETE: a replay's throw-away group is removed when the replay ends.)
    ...(rights.groups
      ? [AclOperationTypes.READ, AclOperationTypes.DELETE].map((op) => entry(AclResourceTypes.GROUP, `${ns}${party}.`, op, ResourcePatternTypes.PREFIXED))
      : []),
  ];
}

/** Creates the ACLs of every listed party for `namespace` (through an admin client of a super user: the plaintext one). */
export async function applyKafkaAcls(admin: Admin, parties: readonly KafkaParty[], namespace = ''): Promise<number> {
  const acl = parties.flatMap((p) => kafkaAcls(p, namespace));
  await admin.createAcls({ acl });
  return acl.length;
}

/** Removes the ACLs `applyKafkaAcls` made for `namespace` (a test run cleaning up). */
export async function removeKafkaAcls(admin: Admin, parties: readonly KafkaParty[], namespace = ''): Promise<void> {
  const filters = parties.flatMap((p) => kafkaAcls(p, namespace));
  await admin.deleteAcls({ filters });
}
