DROP INDEX `events_sensor_source_id`;--> statement-breakpoint
CREATE UNIQUE INDEX `events_sensor_time_id` ON `events` (`sensor`,`event_time`,`source_id`);