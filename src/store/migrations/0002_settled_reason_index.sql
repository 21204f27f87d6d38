DROP INDEX `events_fate_reason`;--> statement-breakpoint
CREATE INDEX `events_settled_reason` ON `events` (`fate`,`reason`) WHERE "events"."reason" IS NOT NULL;