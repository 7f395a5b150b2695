"""The service catalogue: every service type a provider can offer and an order can ask for."""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    emergency_rescue = "emergency_rescue"
    meal_assistance = "meal_assistance"
    cleaning = "cleaning"
    bathing = "bathing"
    medical_escort = "medical_escort"
    mobility_assistance = "mobility_assistance"
    housekeeping = "housekeeping"
    repair = "repair"
    errands = "errands"
    health_care = "health_care"
    nursing = "nursing"
    companionship = "companionship"
    medicine_delivery = "medicine_delivery"


SERVICE_TYPE_LABELS_ZH: dict[ServiceType, str] = {
    ServiceType.emergency_rescue: "紧急救援",
    ServiceType.meal_assistance: "助餐",
    ServiceType.cleaning: "保洁",
    ServiceType.bathing: "助浴",
    ServiceType.medical_escort: "陪同就医",
    ServiceType.mobility_assistance: "助行",
    ServiceType.housekeeping: "家政",
    ServiceType.repair: "维修",
    ServiceType.errands: "代办跑腿",
    ServiceType.health_care: "保健康复",
    ServiceType.nursing: "护理",
    ServiceType.companionship: "陪伴",
    ServiceType.medicine_delivery: "送药",
}

# The tender asks for at least two active providers of each of these (001:1740).
REQUIRED_MINIMUM_TWO: tuple[ServiceType, ...] = (
    ServiceType.medical_escort,
    ServiceType.meal_assistance,
    ServiceType.health_care,
    ServiceType.housekeeping,
)
