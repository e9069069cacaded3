"""Scheduling: pure time math and the job runner that fires standup prompts."""
