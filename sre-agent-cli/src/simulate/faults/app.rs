//! Application faults seen in requests: bad deploys, new errors, error
//! surges, latency regressions, exhausted pools and consumer lag.

use super::super::incident::{Ctx, Effect, Gauge, Symptom, Timed};
use super::super::surface::Failure;
use super::super::world::{Engine, Role, Stack};
use super::{app, blame, rollout, told};

/// A programming error as the stack reports it.
fn bug(ctx: &mut Ctx, wi: usize) -> Failure {
    let stack = ctx.w.workloads[wi].stack;
    let field = ctx
        .rng
        .pick(&[
            "discountCode",
            "shippingAddress",
            "tenantId",
            "locale",
            "currency",
            "metadata",
        ])
        .to_string();
    let (ty, msg, frame) = match (stack, ctx.rng.below(2)) {
        (Stack::Java, 0) => (
            "java.lang.NullPointerException",
            format!(
                "Cannot invoke \"String.length()\" because the return value of \"com.acme.api.Request.get{}()\" is null",
                capital(&field)
            ),
            "java.lang.NullPointerException\n\tat com.acme.api.RequestMapper.map(RequestMapper.java:118)",
        ),
        (Stack::Java, _) => (
            "java.lang.ClassCastException",
            "class java.lang.Integer cannot be cast to class java.lang.Long".to_string(),
            "java.lang.ClassCastException\n\tat com.acme.api.PriceService.total(PriceService.java:64)",
        ),
        (Stack::Go, 0) => (
            "runtime.Error",
            "runtime error: invalid memory address or nil pointer dereference".to_string(),
            "panic recovered in handler\ngoroutine 2231 [running]:\ninternal/api.(*Handler).Serve(...)\n\t/src/internal/api/handler.go:203",
        ),
        (Stack::Go, _) => (
            "runtime.Error",
            "runtime error: index out of range [2] with length 2".to_string(),
            "goroutine 918 [running]:\ninternal/pricing.split(...)\n\t/src/internal/pricing/split.go:41",
        ),
        (Stack::Node, 0) => (
            "TypeError",
            format!("Cannot read properties of undefined (reading '{field}')"),
            "TypeError: Cannot read properties of undefined\n    at mapRequest (/app/dist/handlers/map.js:57:31)",
        ),
        (Stack::Node, _) => (
            "TypeError",
            format!("{field}.map is not a function"),
            "TypeError\n    at buildResponse (/app/dist/handlers/response.js:22:14)",
        ),
        (Stack::Python, 0) => (
            "AttributeError",
            format!(
                "'NoneType' object has no attribute '{}'",
                field.to_lowercase()
            ),
            "Traceback (most recent call last):\n  File \"/app/api/views.py\", line 142, in handle",
        ),
        (Stack::Python, _) => (
            "KeyError",
            format!("'{}'", field.to_lowercase()),
            "Traceback (most recent call last):\n  File \"/app/api/serializers.py\", line 61, in to_internal",
        ),
        (Stack::Plain, _) => (
            "System.NullReferenceException",
            "Object reference not set to an instance of an object.".to_string(),
            "   at Acme.Api.Handlers.Map(Request req) in /src/Handlers.cs:line 88",
        ),
    };
    Failure::App {
        ty: ty.to_string(),
        msg,
        frame: frame.to_string(),
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A rollout introduced failures.
pub fn bad_deploy(ctx: &mut Ctx) -> Option<()> {
    let called = ctx.rng.chance(0.7);
    let wi = app(ctx, called)?;
    if !ctx.w.workloads[wi].is_http() {
        return None;
    }
    let name = ctx.w.workloads[wi].name.clone();
    let ago = ctx.age() + ctx.rng.range(10, 90);
    let (ri, _) = rollout(ctx, wi, ago, true, 0, |_, _| {});
    let version = ctx.w.workloads[wi].revisions[ri].version.clone();
    let old = ctx.w.workloads[wi].revisions[ri - 1].version.clone();
    let f = bug(ctx, wi);
    let rate = ctx.rng.uniform(0.25, 0.9);
    ctx.effect(Effect::Serve {
        wi,
        rate,
        status: 500,
        failure: f,
        from_rev: Some(ri),
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, wi);
    let title = format!("{name} 5xx after deploying {version}");
    let summary = format!(
        "{name} {version} (rolled out over {old}) fails {:.0}% of its requests with a new exception.",
        rate * 100.0
    );
    told(ctx, title, summary)
}

/// A new error appears without a deploy (bad data, a changed contract).
pub fn new_error(ctx: &mut Ctx) -> Option<()> {
    let wi = app(ctx, true)?;
    if !ctx.w.workloads[wi].is_http() {
        return None;
    }
    let name = ctx.w.workloads[wi].name.clone();
    let stack = ctx.w.workloads[wi].stack;
    let field = ctx
        .rng
        .pick(&["amount", "created_at", "region", "status", "expires"])
        .to_string();
    let (ty, msg) = match stack {
        Stack::Java => (
            "com.fasterxml.jackson.databind.exc.InvalidFormatException",
            format!(
                "Cannot deserialize value of type `java.time.Instant` from String \"2025-13-01\": Failed to deserialize java.time.Instant (field \"{field}\")"
            ),
        ),
        Stack::Go => (
            "*json.UnmarshalTypeError",
            format!(
                "json: cannot unmarshal string into Go struct field Record.{} of type int64",
                capital(&field)
            ),
        ),
        Stack::Node => (
            "SyntaxError",
            "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON".to_string(),
        ),
        Stack::Python => (
            "ValueError",
            format!(
                "time data '2025-06-01T00:00:00+02:00' does not match format '%Y-%m-%dT%H:%M:%SZ' (field {field})"
            ),
        ),
        Stack::Plain => (
            "System.FormatException",
            format!("The input string '{field}' was not in a correct format."),
        ),
    };
    let rate = ctx.rng.uniform(0.2, 0.6);
    ctx.effect(Effect::Serve {
        wi,
        rate,
        status: 500,
        failure: Failure::App {
            ty: ty.into(),
            msg,
            frame: String::new(),
        },
        from_rev: None,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, wi);
    let title = format!("{name} errors");
    let summary = format!(
        "{name} started failing {:.0}% of requests with a new {ty} on records it cannot parse; nothing was deployed.",
        rate * 100.0
    );
    told(ctx, title, summary)
}

/// An error that was rare becomes frequent.
pub fn error_surge(ctx: &mut Ctx) -> Option<()> {
    let wi = app(ctx, true)?;
    if !ctx.w.workloads[wi].is_http() {
        return None;
    }
    let name = ctx.w.workloads[wi].name.clone();
    let f = bug(ctx, wi);
    let t0 = ctx.w.t_start - 10;
    ctx.inc.effects.push(Timed {
        effect: Effect::Serve {
            wi,
            rate: 0.01,
            status: 500,
            failure: f.clone(),
            from_rev: None,
        },
        from: t0,
        full: t0,
    });
    let rate = ctx.rng.uniform(0.3, 0.8);
    ctx.effect(Effect::Serve {
        wi,
        rate,
        status: 500,
        failure: f,
        from_rev: None,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, wi);
    let title = format!("{name} error rate");
    let summary = format!(
        "An exception {name} logged about 1% of the time now fails {:.0}% of its requests.",
        rate * 100.0
    );
    told(ctx, title, summary)
}

/// A service became slow on its own.
pub fn latency_regression(ctx: &mut Ctx) -> Option<()> {
    let wi = app(ctx, true)?;
    if !ctx.w.workloads[wi].is_http() {
        return None;
    }
    let name = ctx.w.workloads[wi].name.clone();
    let ms = ctx.rng.uniform(400.0, 2500.0);
    let deployed = ctx.rng.chance(0.4);
    if deployed {
        let ago = ctx.age() + ctx.rng.range(10, 120);
        rollout(ctx, wi, ago, true, 0, |_, _| {});
    }
    ctx.effect(Effect::Slow { wi, ms });
    if ctx.w.workloads[wi].stack == Stack::Java && ctx.rng.chance(0.5) {
        ctx.gauge(Gauge {
            wi,
            name: "jvm.gc.duration".into(),
            unit: "s".into(),
            desc: "Time spent in GC pauses per minute".into(),
            attrs: vec![("jvm.gc.name".into(), "G1 Old Generation".into())],
            base: 0.2,
            peak: 18.0,
            int: false,
        });
    }
    let lg = super::super::surface::logger(ctx.w.workloads[wi].stack, &name, "Timing");
    let _ = lg;
    ctx.effect(Effect::Log {
        wi,
        every: 20.0,
        level: "WARN",
        msg: format!(
            "slow request: handler took {:.0}ms (threshold 500ms)",
            ms + 180.0
        ),
        failure: None,
    });
    ctx.inc.symptom = Some((wi, Symptom::Latency));
    blame(ctx, wi);
    ctx.inc.summary = format!(
        "{name}'s own processing became ~{ms:.0} ms slower{}; its callers wait on it.",
        if deployed {
            " after its last rollout"
        } else {
            ""
        }
    );
    ctx.inc.title = format!("{name} slow");
    if deployed {
        // The slowdown shipped with the rollout a minute or two before it:
        // the fix is a rollback, and that is what an engineer calls it.
        ctx.inc.kind = "bad_deploy";
    }
    Some(())
}

/// A service's database connection pool is exhausted.
pub fn connection_pool_exhausted(ctx: &mut Ctx) -> Option<()> {
    let users: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| {
            ctx.w.workloads[i].is_http()
                && ctx.w.workloads[i].stores.iter().any(|(s, _)| {
                    matches!(
                        ctx.w.workloads[*s].role,
                        Role::Store(Engine::Postgres | Engine::Mongo)
                    )
                })
        })
        .collect();
    let &wi = users.get(ctx.rng.below(users.len().max(1)))?;
    let name = ctx.w.workloads[wi].name.clone();
    let (si, _) = ctx.w.workloads[wi]
        .stores
        .iter()
        .find(|(s, _)| {
            matches!(
                ctx.w.workloads[*s].role,
                Role::Store(Engine::Postgres | Engine::Mongo)
            )
        })
        .cloned()
        .unwrap_or((0, String::new()));
    let Role::Store(engine) = ctx.w.workloads[si].role else {
        return None;
    };
    let size = *ctx.rng.pick(&[10u32, 10, 20, 5]);
    let timeout = *ctx.rng.pick(&[30_000u64, 5_000, 10_000]);
    let rate = ctx.rng.uniform(0.3, 0.7);
    ctx.effect(Effect::Call {
        caller: Some(wi),
        callee: si,
        rate,
        ms: timeout as f64,
        failure: Failure::PoolExhausted {
            engine,
            ms: timeout,
            size,
        },
    });
    ctx.effect(Effect::Slow { wi, ms: 800.0 });
    let pool = if ctx.w.workloads[wi].stack == Stack::Java {
        "HikariPool-1"
    } else {
        "default"
    };
    ctx.gauge(Gauge {
        wi,
        name: "db.client.connections.usage".into(),
        unit: "{connection}".into(),
        desc: "Connections in the pool by state".into(),
        attrs: vec![
            ("pool.name".into(), pool.into()),
            ("state".into(), "used".into()),
        ],
        base: (size / 3) as f64,
        peak: size as f64,
        int: true,
    });
    ctx.gauge(Gauge {
        wi,
        name: "db.client.connections.pending_requests".into(),
        unit: "{request}".into(),
        desc: "Requests waiting for a connection".into(),
        attrs: vec![("pool.name".into(), pool.into())],
        base: 0.0,
        peak: ctx.rng.range(15, 80) as f64,
        int: true,
    });
    if ctx.w.workloads[wi].stack == Stack::Java {
        ctx.effect(Effect::Log {
            wi,
            every: 45.0,
            level: "WARN",
            msg: format!(
                "{pool} - Pool stats (total={size}, active={size}, idle=0, waiting={})",
                ctx.rng.range(12, 60)
            ),
            failure: None,
        });
    }
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, wi);
    let title = format!("{name} timing out on database connections");
    let summary = format!(
        "{name}'s pool of {size} connections to {} is fully in use; requests wait {}s for a connection and fail.",
        ctx.w.workloads[si].name,
        timeout / 1000
    );
    told(ctx, title, summary)
}

/// A queue consumer falls behind.
pub fn consumer_lag(ctx: &mut Ctx) -> Option<()> {
    let workers: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| ctx.w.workloads[i].consumes.is_some())
        .collect();
    let &wi = workers.get(ctx.rng.below(workers.len().max(1)))?;
    let name = ctx.w.workloads[wi].name.clone();
    let (bi, topic) = ctx.w.workloads[wi].consumes.clone()?;
    let Role::Store(engine) = ctx.w.workloads[bi].role else {
        return None;
    };
    let stack = ctx.w.workloads[wi].stack;
    let group = format!("{name}-group");
    let msg = match (engine, stack) {
        (Engine::Kafka, Stack::Java) => format!(
            "[Consumer clientId=consumer-{group}-1, groupId={group}] Attempt to heartbeat failed since group is rebalancing"
        ),
        (Engine::Kafka, Stack::Go) => format!(
            "kafka: error while consuming {topic}/3: read tcp: i/o timeout; rejoining group {group}"
        ),
        (Engine::Kafka, Stack::Python) => {
            format!("Heartbeat session expired, marking coordinator dead (group {group})")
        }
        (Engine::Kafka, _) => format!("Group {group} is rebalancing; paused partitions of {topic}"),
        (_, Stack::Java) => format!(
            "Consumer raised exception, processing can restart if the connection factory supports it. Exception summary: org.springframework.amqp.AmqpTimeoutException (queue {topic})"
        ),
        (_, _) => format!(
            "channel closed by server: 406 (PRECONDITION-FAILED) with message \"PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 1800000 ms\" (queue {topic})"
        ),
    };
    ctx.effect(Effect::Log {
        wi,
        every: 25.0,
        level: "WARN",
        msg,
        failure: None,
    });
    ctx.effect(Effect::Slow {
        wi,
        ms: ctx.rng.uniform(800.0, 4000.0),
    });
    let peak = ctx.rng.range(20_000, 900_000) as f64;
    let (metric, attrs) = if engine == Engine::Kafka {
        (
            "kafka.consumer.records_lag_max",
            vec![
                ("messaging.kafka.consumer.group".to_string(), group.clone()),
                ("messaging.destination.name".to_string(), topic.clone()),
            ],
        )
    } else {
        (
            "rabbitmq.queue.messages_ready",
            vec![("messaging.destination.name".to_string(), topic.clone())],
        )
    };
    ctx.gauge(Gauge {
        wi,
        name: metric.into(),
        unit: "{message}".into(),
        desc: "Messages not yet consumed".into(),
        attrs,
        base: ctx.rng.range(0, 40) as f64,
        peak,
        int: true,
    });
    ctx.inc.symptom = None;
    blame(ctx, wi);
    ctx.inc.aliases.push(group.clone());
    let title = format!("{name} lagging on {topic}");
    let summary = format!(
        "{name} falls behind on {topic}: its consumers keep rebalancing/timing out and {peak:.0} messages are waiting."
    );
    told(ctx, title, summary)
}
