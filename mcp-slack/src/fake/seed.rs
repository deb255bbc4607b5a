//! The workspace every fake starts with: the channels, users and messages
//! the crate's tests and the orchestrator's Slack tests read.

use serde_json::json;

use super::BOT_USER_ID;
use super::{FakeSlack, SeedMessage};

impl FakeSlack {
    pub(super) fn seed(&self) {
        for (id, name, private, member, topic) in [
            (
                "C0ALERTS01",
                "alerts-prod",
                false,
                true,
                "Prometheus alerts for prod",
            ),
            (
                "C0INCIDENT",
                "incidents",
                false,
                true,
                "Incident coordination",
            ),
            ("C0RANDOM01", "random", false, false, "Anything"),
            ("G0SECRET01", "secret-ops", true, true, "Private"),
        ] {
            self.add_channel(id, name, private, member, topic);
        }
        for (id, name, real, email, title, bot) in [
            (
                "U0ALICE001",
                "alice",
                "Alice Ops",
                "alice@example.com",
                "SRE",
                false,
            ),
            (
                "U0BOB00001",
                "bob",
                "Bob Dev",
                "bob@example.com",
                "Backend engineer",
                false,
            ),
            (
                "U0CAROL001",
                "carol",
                "Carol Lead",
                "carol@example.com",
                "Eng manager",
                false,
            ),
            (BOT_USER_ID, "sre-agent", "SRE Agent", "", "", true),
        ] {
            self.add_user(id, name, real, email, title, bot);
        }
        let alert = self.add_message(
            "C0ALERTS01",
            SeedMessage {
                bot_id: Some("B0ALERTMGR".into()),
                username: Some("alertmanager".into()),
                attachments: Some(json!([{
                    "color": "danger",
                    "fallback": "[FIRING:1] KubePodCrashLooping checkout (prod critical)",
                    "title": "[FIRING:1] KubePodCrashLooping checkout-7d9f8b6c5-x2x9z (prod critical)",
                    "title_link": "http://alertmanager.example.com/#/alerts?receiver=slack",
                    "text": "*Alert:* Pod is crash looping - `critical`\n*Description:* Pod prod/checkout-7d9f8b6c5-x2x9z is restarting 2.5 times / 10 minutes.",
                    "mrkdwn_in": ["fallback", "pretext", "text"]
                }])),
                ..Default::default()
            },
        );
        for (user, text) in [
            ("U0ALICE001", "looking, checkout pods are OOMKilled"),
            (
                "U0BOB00001",
                "deployed checkout v2.14 at 02:55, could be related",
            ),
        ] {
            self.add_message(
                "C0ALERTS01",
                SeedMessage {
                    user: Some(user.into()),
                    text: text.into(),
                    thread_ts: Some(alert.clone()),
                    ..Default::default()
                },
            );
        }
        self.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some("U0CAROL001".into()),
                text: "Declaring SEV2 for checkout errors. <@U0ALICE001> is IC.".into(),
                ..Default::default()
            },
        );
        self.add_message(
            "G0SECRET01",
            SeedMessage {
                user: Some("U0CAROL001".into()),
                text: "private checkout discussion".into(),
                ..Default::default()
            },
        );
    }
}
