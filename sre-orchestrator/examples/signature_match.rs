//! Which signatures of the catalogue match a text, and how strongly: the way
//! to check a signature file while writing it.
//!
//! ```sh
//! cargo run -p sre-orchestrator --example signature_match -- log "OSError: [Errno 28] No space left on device"
//! cargo run -p sre-orchestrator --example signature_match -- --file my.toml event_message "0/3 nodes are available"
//! ```

use sre_orchestrator::engine::signatures::{Catalogue, Field};

fn field(name: &str) -> Option<Field> {
    Some(match name {
        "log" => Field::Log,
        "exception" => Field::Exception,
        "span_status" => Field::SpanStatus,
        "event_reason" => Field::EventReason,
        "event_message" => Field::EventMessage,
        "container_reason" => Field::ContainerReason,
        "termination_message" => Field::TerminationMessage,
        _ => return None,
    })
}

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut catalogue = Catalogue::builtin().clone();
    if args.first().map(String::as_str) == Some("--file") && args.len() > 1 {
        match Catalogue::load(std::path::Path::new(&args[1])) {
            Ok(user) => catalogue = catalogue.extended(user),
            Err(e) => {
                eprintln!("{e}");
                return std::process::ExitCode::from(2);
            }
        }
        args.drain(..2);
    }
    let (Some(f), Some(text)) = (args.first().and_then(|a| field(a)), args.get(1)) else {
        eprintln!(
            "usage: signature_match [--file FILE] log|exception|span_status|event_reason|event_message|container_reason|termination_message TEXT"
        );
        return std::process::ExitCode::from(2);
    };
    let hits = catalogue.matches(f, text);
    if hits.is_empty() {
        println!("no signature matches");
    }
    for h in hits {
        println!(
            "{:<40} {:<28} strength {} peer {:?} matched {:?}",
            h.signature.id, h.signature.kind, h.signature.strength, h.peer, h.matched
        );
    }
    std::process::ExitCode::SUCCESS
}
