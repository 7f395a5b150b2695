"""Needs and ability assessment (养老服务需求评估): the instrument as data, its scoring, the workflow."""
