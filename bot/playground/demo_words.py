"""What the demo shop's people typed, in each language: names, cars, complaints, notes.

Data, not the bot's wording: what an advisor or a clerk writes into an order or a call log is
stored as written and shown back as it is, so it lives here and not in the Babel catalogs (the
bot's own words around it are translated as ever). The plates are the same in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Customer:
    name: str
    phone: str
    plate: str
    model: str
    address: str
    wanted: str  # services wanted, for the archive


@dataclass(frozen=True)
class Words:
    # Staff, in the order they are hired (and numbered on the chat service).
    advisor: str
    technicians: tuple[str, str, str]
    team_leader: str
    inspector: str
    parts_clerk: str
    clerks: tuple[str, str]
    supervisor: str
    admin: str
    # Customers: with history (ma, he, guo), a consultation today (lin), on the floor now.
    ma: Customer
    he: Customer
    guo: Customer
    lin: Customer
    gao: Customer
    luo: Customer
    liang: Customer
    sedan: str  # the archive's vehicle type
    service_items: tuple[str, ...]  # a regular service, with standard hours
    service_complaint: str
    brake_items: tuple[str, ...]
    ev_items: tuple[str, ...]
    ev_complaint: str
    tyre_items: tuple[str, ...]
    tyre_complaint: str
    brake_complaint: str
    wiper_items: tuple[str, ...]
    wiper_complaint: str
    extra_item: str
    extra_reason: str
    noise_items: tuple[str, ...]
    noise_complaint: str
    call_notes_happy: str
    call_notes_guo: str
    complaint: str
    consultation: str
    campaign_title: str
    campaign_content: str
    campaign_address: str
    duty_areas: tuple[str, str]


ZH = Words(
    advisor="王芳",
    technicians=("张伟", "李强", "赵磊"),
    team_leader="陈刚",
    inspector="刘洋",
    parts_clerk="孙丽",
    clerks=("周敏", "吴婷"),
    supervisor="郑涛",
    admin="钱军",
    ma=Customer("马建国", "13801012345", "京A·6M235", "丰田凯美瑞", "北京市朝阳区望京街道8号",
                "定期保养、年检代办"),
    he=Customer("何丽娜", "13902023456", "粤B·D12345", "比亚迪汉EV", "深圳市南山区科技园路3号",
                "电池检测、上门取送车"),
    guo=Customer("郭志强", "13703034567", "京B·5X321", "大众帕萨特", "北京市海淀区中关村大街1号",
                 "刹车系统保养"),
    lin=Customer("林晓燕", "13604045678", "粤B·8K906", "本田雅阁", "", ""),
    gao=Customer("高明", "13505056789", "京A·3F778", "别克GL8", "", ""),
    luo=Customer("罗静", "13306067890", "粤A·2H519", "日产轩逸", "", ""),
    liang=Customer("梁伟东", "13207078901", "京Q·7T062", "奥迪A4L", "", ""),
    sedan="轿车",
    service_items=("更换机油机滤 | 0.8", "更换空调滤芯 | 0.5", "四轮定位检查 | 1.0"),
    service_complaint="4万公里保养；空调有异味",
    brake_items=("更换前刹车片 | 1.5", "更换刹车油 | 0.5"),
    brake_complaint="刹车时有尖锐异响",
    ev_items=("高压电池健康检测 | 1.0", "更换空调滤芯 | 0.5"),
    ev_complaint="例行检查；续航比以前短",
    tyre_items=("更换四条轮胎 | 1.0", "四轮动平衡 | 0.5"),
    tyre_complaint="轮胎磨损严重",
    wiper_items=("更换机油机滤 | 0.8", "检查底盘 | 0.5"),
    wiper_complaint="常规保养，顺便检查底盘",
    extra_item="更换前雨刮片",
    extra_reason="雨刮胶条老化开裂，雨天刮不干净",
    noise_items=("检查右前悬挂异响 | 1.0", "更换右前稳定杆连杆 | 0.8"),
    noise_complaint="过减速带时右前方咯噔响",
    call_notes_happy="车况良好，对服务满意",
    call_notes_guo="刹车片刚换过，但低速刹车仍有轻微异响",
    complaint="刹车仍有异响，希望免费复查",
    consultation="咨询4万公里保养项目和价格",
    campaign_title="冬季免费检测周",
    campaign_content="免费检测电瓶、轮胎、暖风和防冻液，到店送洗车一次",
    campaign_address="本店维修接待大厅",
    duty_areas=("1号工位", "洗车区"),
)

EN = Words(
    advisor="Grace Wang",
    technicians=("Tom Zhang", "Mike Li", "Leo Zhao"),
    team_leader="Frank Chen",
    inspector="Linda Liu",
    parts_clerk="Susan Sun",
    clerks=("Helen Zhou", "Amy Wu"),
    supervisor="David Zheng",
    admin="Kevin Qian",
    ma=Customer("Robert Ma", "13801012345", "京A·6M235", "Toyota Camry",
                "8 Wangjing Street, Chaoyang, Beijing", "Regular service, annual inspection"),
    he=Customer("Jenny He", "13902023456", "粤B·D12345", "BYD Han EV",
                "3 Science Park Road, Nanshan, Shenzhen", "Battery check, pick-up and delivery"),
    guo=Customer("Paul Guo", "13703034567", "京B·5X321", "Volkswagen Passat",
                 "1 Zhongguancun Street, Haidian, Beijing", "Brake service"),
    lin=Customer("Lily Lin", "13604045678", "粤B·8K906", "Honda Accord", "", ""),
    gao=Customer("Jack Gao", "13505056789", "京A·3F778", "Buick GL8", "", ""),
    luo=Customer("Nancy Luo", "13306067890", "粤A·2H519", "Nissan Sylphy", "", ""),
    liang=Customer("Eric Liang", "13207078901", "京Q·7T062", "Audi A4L", "", ""),
    sedan="Sedan",
    service_items=("Change oil and oil filter | 0.8", "Replace cabin air filter | 0.5",
                   "Check wheel alignment | 1.0"),
    service_complaint="40,000 km service; the air conditioning smells musty",
    brake_items=("Replace front brake pads | 1.5", "Replace brake fluid | 0.5"),
    brake_complaint="Squealing when braking",
    ev_items=("High-voltage battery health check | 1.0", "Replace cabin air filter | 0.5"),
    ev_complaint="Routine check; the range is shorter than it was",
    tyre_items=("Replace all four tyres | 1.0", "Balance the wheels | 0.5"),
    tyre_complaint="The tyres are worn down",
    wiper_items=("Change oil and oil filter | 0.8", "Inspect the underbody | 0.5"),
    wiper_complaint="Regular service, and a look at the underbody",
    extra_item="Replace the front wiper blades",
    extra_reason="The rubber is cracked; the blades smear in the rain",
    noise_items=("Find the front right suspension knock | 1.0",
                 "Replace the front right stabilizer link | 0.8"),
    noise_complaint="Knocking from the front right over speed bumps",
    call_notes_happy="The car runs well; happy with the service",
    call_notes_guo="New brake pads, but still a faint noise when braking slowly",
    complaint="The brakes still make a noise; asks for a free re-check",
    consultation="Asked about the 40,000 km service and its price",
    campaign_title="Winter free check week",
    campaign_content="Free check of battery, tyres, heating and antifreeze; a free car wash",
    campaign_address="The shop's reception hall",
    duty_areas=("Bay 1", "Wash bay"),
)

WORDS = {"zh_CN": ZH, "en": EN}
