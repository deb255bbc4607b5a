//! The fields the checks read, per kind: everything else (`managedFields`, env, volumes,
//! probes, pod templates, a node's image list…) is skipped while parsing, so a call holds a
//! fraction of the objects (see [`Mask`]). `masks_cover_what_the_checks_read` in the tests of
//! [`super`] compares the output with the one computed from whole objects on every bundled
//! snapshot.

use crate::projection::Mask::{self, All, Fields};

const STATUS: (&str, Mask) = ("status", All);
const NAME_NS: [(&str, Mask); 2] = [("name", All), ("namespace", All)];
/// `resources.limits.memory` is in the OOMKilled evidence.
const CONTAINERS: Mask = Fields(&[
    ("name", All),
    ("image", All),
    (
        "resources",
        Fields(&[("limits", Fields(&[("memory", All)]))]),
    ),
]);
const CONTAINER_STATUSES: Mask = Fields(&[
    ("name", All),
    ("ready", All),
    ("restartCount", All),
    ("state", All),
    ("lastState", All),
]);

pub const PODS: Mask = Fields(&[
    (
        "metadata",
        Fields(&[
            NAME_NS[0],
            NAME_NS[1],
            ("creationTimestamp", All),
            ("deletionTimestamp", All),
            ("deletionGracePeriodSeconds", All),
            ("finalizers", All),
            ("labels", All),
            ("ownerReferences", All),
        ]),
    ),
    (
        "spec",
        Fields(&[
            ("containers", CONTAINERS),
            ("initContainers", CONTAINERS),
            ("nodeName", All),
        ]),
    ),
    (
        "status",
        Fields(&[
            ("phase", All),
            ("reason", All),
            ("message", All),
            ("startTime", All),
            ("conditions", All),
            ("containerStatuses", CONTAINER_STATUSES),
            ("initContainerStatuses", CONTAINER_STATUSES),
        ]),
    ),
]);
/// Deployments, StatefulSets, DaemonSets (`rollout_status` reads `metadata.generation`).
pub const WORKLOADS: Mask = Fields(&[
    (
        "metadata",
        Fields(&[NAME_NS[0], NAME_NS[1], ("generation", All)]),
    ),
    ("spec", Fields(&[("replicas", All)])),
    STATUS,
]);
/// ReplicaSets: only their owner and `ReplicaFailure` condition are read.
pub const REPLICASETS: Mask = Fields(&[
    (
        "metadata",
        Fields(&[NAME_NS[0], NAME_NS[1], ("ownerReferences", All)]),
    ),
    ("status", Fields(&[("conditions", All)])),
]);
pub const JOBS: Mask = Fields(&[
    Mask::META,
    ("spec", Fields(&[("backoffLimit", All)])),
    STATUS,
]);
pub const CRONJOBS: Mask = Fields(&[
    Mask::META,
    (
        "spec",
        Fields(&[
            ("schedule", All),
            ("suspend", All),
            ("concurrencyPolicy", All),
        ]),
    ),
    STATUS,
]);
pub const PVCS: Mask = Fields(&[
    (
        "metadata",
        Fields(&[NAME_NS[0], NAME_NS[1], ("creationTimestamp", All)]),
    ),
    (
        "spec",
        Fields(&[("storageClassName", All), ("resources", All)]),
    ),
    STATUS,
]);
pub const HPAS: Mask = Fields(&[
    Mask::META,
    (
        "spec",
        Fields(&[
            ("minReplicas", All),
            ("maxReplicas", All),
            ("scaleTargetRef", All),
        ]),
    ),
    STATUS,
]);
/// cert-manager Certificates: what they cover and their status (`notAfter`, conditions).
pub const CERTIFICATES: Mask = Fields(&[
    Mask::META,
    (
        "spec",
        Fields(&[
            ("dnsNames", All),
            ("commonName", All),
            ("secretName", All),
            ("issuerRef", All),
        ]),
    ),
    STATUS,
]);
/// external-secrets ExternalSecrets: the Secret they write, from where, and their status.
pub const EXTERNAL_SECRETS: Mask = Fields(&[
    Mask::META,
    (
        "spec",
        Fields(&[
            ("refreshInterval", All),
            ("secretStoreRef", All),
            ("target", Fields(&[("name", All)])),
        ]),
    ),
    STATUS,
]);
pub const SERVICES: Mask = Fields(&[
    Mask::META,
    ("spec", Fields(&[("type", All), ("selector", All)])),
]);
/// What `events::dedupe` reads.
pub const EVENTS: Mask = Fields(&[
    (
        "metadata",
        Fields(&[NAME_NS[1], ("creationTimestamp", All)]),
    ),
    (
        "involvedObject",
        Fields(&[("kind", All), NAME_NS[0], NAME_NS[1]]),
    ),
    ("type", All),
    ("reason", All),
    ("message", All),
    ("count", All),
    ("series", All),
    ("firstTimestamp", All),
    ("lastTimestamp", All),
    ("eventTime", All),
]);
pub const NODES: Mask = Fields(&[
    Mask::META,
    ("spec", Fields(&[("unschedulable", All)])),
    ("status", Fields(&[("conditions", All)])),
]);
