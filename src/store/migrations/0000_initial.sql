CREATE TABLE `envelopes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sensor` text NOT NULL,
	`send_time` text NOT NULL,
	`received_at` integer NOT NULL,
	`event_count` integer NOT NULL,
	`stored_count` integer NOT NULL,
	`rejected_count` integer NOT NULL,
	`duplicate_count` integer NOT NULL,
	`bytes` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `event_inputs` (
	`seq` integer PRIMARY KEY NOT NULL,
	`raw` text NOT NULL,
	FOREIGN KEY (`seq`) REFERENCES `events`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`envelope_id` integer NOT NULL,
	`sensor` text NOT NULL,
	`source_id` text,
	`type` text,
	`action` text,
	`event_time` text,
	`received_at` integer NOT NULL,
	`fate` text NOT NULL,
	`stage` text,
	`reason` text,
	`detail` text,
	`rule` text,
	`student_id` text,
	`platform_id` text,
	`output` text,
	`output_id` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`first_attempt_at` integer,
	`last_attempt_at` integer,
	`last_status` integer,
	`last_response` text,
	`delivered_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`envelope_id`) REFERENCES `envelopes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_sensor_source_id` ON `events` (`sensor`,`source_id`);--> statement-breakpoint
CREATE INDEX `events_pending_due` ON `events` (`stage`,`next_attempt_at`) WHERE "events"."fate" = 'pending';--> statement-breakpoint
CREATE INDEX `events_fate_reason` ON `events` (`fate`,`reason`);--> statement-breakpoint
CREATE INDEX `events_delivered_at` ON `events` (`delivered_at`) WHERE "events"."fate" = 'delivered';--> statement-breakpoint
CREATE INDEX `events_envelope_id` ON `events` (`envelope_id`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `roster_cache` (
	`external_id` text PRIMARY KEY NOT NULL,
	`platform_id` text,
	`outcome` text NOT NULL,
	`strategy` text,
	`detail` text,
	`learned_at` integer NOT NULL
);
